using System.Text.Json;

namespace Kneron.Quantization.Tests;

/// <summary>
/// Auto tries modes on the simulation graph, which can measure a little higher than the
/// QDQ model the build reports. On PP-OCR cls in int8 (KL720) the simulation graph measures
/// about 20.0 dB and the QDQ model about 19.1 dB, so a threshold between the two made auto
/// keep int8 and the build then fail. Auto and sweep must go on to the next mode instead.
/// </summary>
public sealed class AutoFallbackTests
{
    private const string Model = "ppocr_cls";

    private static double MinimumSnr(JsonDocument json) =>
        json.RootElement.GetProperty("outputs").EnumerateArray().Min(o => o.GetProperty("snr_db").GetDouble());

    private static JsonDocument Table(TestFolder folder, string name) =>
        JsonDocument.Parse(File.ReadAllText(folder.Combine($"{name}/{Model}.quant.json")));

    [Fact]
    public void AutoSkipsModeThatFailsOnQuantizedModel()
    {
        using var folder = new TestFolder();
        var model = TestModels.ModelPath(Model);
        var config = TestModels.ConfigPath(Model);

        // The QDQ model's int8 SNR, as a fixed int8 analysis reports it.
        var fixedRun = CliResult.Run("analyze", model, "--config", config, "--output", folder.Combine("int8"),
            "--set", "datapath_bitwidth_mode=int8", "--set", "weight_bitwidth_mode=int8", "--set", "on_low_snr=warning");
        Assert.True(fixedRun.ExitCode == 0, fixedRun.Error);
        using var fixedTable = Table(folder, "int8");
        double quantizedSnr = MinimumSnr(fixedTable);

        // The simulation graph's int8 SNR: a sweep that no mode passes lists int8 as measured there.
        var sweep = CliResult.Run("sweep", model, "--config", config, "--output", folder.Combine("sweep"),
            "--set", "snr_threshold=200", "--set", "on_low_snr=warning");
        Assert.True(sweep.ExitCode == 0, sweep.Error);
        using var sweepTable = Table(folder, "sweep");
        double simulatedSnr = sweepTable.RootElement.GetProperty("modes_tried").EnumerateArray()
            .First(t => t.GetProperty("datapath_bitwidth_mode").GetString() == "int8")
            .GetProperty("snr_db").GetDouble();
        Assert.True(simulatedSnr > quantizedSnr + 0.2,
            $"The case needs int8 to measure higher on the simulation graph than on the QDQ model: {simulatedSnr:0.000} vs {quantizedSnr:0.000} dB.");

        // Between the two, the simulation graph passes int8 and the QDQ model fails it.
        double threshold = (simulatedSnr + quantizedSnr) / 2;
        var auto = CliResult.Run("analyze", model, "--config", config, "--output", folder.Combine("auto"),
            "--set", "datapath_bitwidth_mode=auto", "--set", FormattableString.Invariant($"snr_threshold={threshold:0.000}"));

        Assert.True(auto.ExitCode == 0, auto.Error);
        Assert.Contains("auto: int8/int8 measures", auto.Output);
        using var autoTable = Table(folder, "auto");
        var tried = autoTable.RootElement.GetProperty("modes_tried").EnumerateArray().ToList();
        var int8 = tried.First(t => t.GetProperty("datapath_bitwidth_mode").GetString() == "int8");
        Assert.False(int8.GetProperty("chosen").GetBoolean());
        Assert.Equal(quantizedSnr, int8.GetProperty("snr_db").GetDouble(), 6);
        var chosen = Assert.Single(tried, t => t.GetProperty("chosen").GetBoolean());
        Assert.NotEqual("int8", chosen.GetProperty("datapath_bitwidth_mode").GetString());
        Assert.True(MinimumSnr(autoTable) >= threshold, $"The chosen mode measures {MinimumSnr(autoTable):0.000} dB, below {threshold:0.000} dB.");
        Assert.Equal(MinimumSnr(autoTable), chosen.GetProperty("snr_db").GetDouble(), 6);

        // A sweep at the same threshold keeps the same mode, not the int8 that fails where the build measures it.
        var thresholdSweep = CliResult.Run("sweep", model, "--config", config, "--output", folder.Combine("sweep-at-threshold"),
            "--set", FormattableString.Invariant($"snr_threshold={threshold:0.000}"));
        Assert.True(thresholdSweep.ExitCode == 0, thresholdSweep.Error);
        Assert.Contains("cheapest passing mode of the sweep", thresholdSweep.Output);
        using var thresholdSweepTable = Table(folder, "sweep-at-threshold");
        var sweepChosen = Assert.Single(thresholdSweepTable.RootElement.GetProperty("modes_tried").EnumerateArray(), t => t.GetProperty("chosen").GetBoolean());
        Assert.Equal(chosen.GetProperty("datapath_bitwidth_mode").GetString(), sweepChosen.GetProperty("datapath_bitwidth_mode").GetString());
        Assert.True(MinimumSnr(thresholdSweepTable) >= threshold, $"The sweep keeps a mode at {MinimumSnr(thresholdSweepTable):0.000} dB, below {threshold:0.000} dB.");
    }
}
