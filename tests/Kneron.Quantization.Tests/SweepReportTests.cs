using System.Text.Json;

namespace Kneron.Quantization.Tests;

/// <summary>
/// A sweep in which no mode meets <c>snr_threshold</c>: BlazeFace reaches at most about
/// 58 dB on KL720 (int16, docs/modes.md), so 80 dB fails every mode. It reports as auto does, with one KNQ0507
/// listing every mode tried, never a KNQ0403 per output claiming a mode was chosen.
/// </summary>
public sealed class SweepReportTests
{
    private const string Model = "blazeface_front";

    private static readonly string[] ModeNames = { "int8/int8", "mix light/mix light", "mixbw/mixbw", "mix balance/mix balance", "int16/int16" };

    [Fact]
    public void SweepWithoutPassingModeListsModes()
    {
        using var folder = new TestFolder();

        var result = CliResult.Run("sweep", TestModels.ModelPath(Model), "--config", TestModels.ConfigPath(Model),
            "--output", folder.Path, "--set", "snr_threshold=80");

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.ErrorLines, l => l.Contains("KNQ0507", StringComparison.Ordinal));
        Assert.Contains("error KNQ0507: No mode that KL720 runs reaches snr_threshold 80.00 dB: ", line);
        foreach (var mode in ModeNames)
        {
            Assert.Contains(mode, line);
        }

        Assert.DoesNotContain("KNQ0403", result.Error);
        Assert.DoesNotContain("chosen by auto", result.Error + result.Output);
        Assert.Contains("no mode passed", result.Output);
        Assert.True(File.Exists(folder.Combine(Model + ".failed.html")));
    }

    [Fact]
    public void SweepWarningKeepsWidestMode()
    {
        using var folder = new TestFolder();

        var result = CliResult.Run("sweep", TestModels.ModelPath(Model), "--config", TestModels.ConfigPath(Model),
            "--output", folder.Path, "--set", "snr_threshold=80", "--set", "on_low_snr=warning");

        Assert.True(result.ExitCode == 0, result.Error);
        var line = Assert.Single(result.ErrorLines, l => l.Contains("KNQ0507", StringComparison.Ordinal));
        Assert.Contains("warning KNQ0507:", line);
        Assert.DoesNotContain("KNQ0403", result.Error);

        // Every mode was tried and failed. The chosen one is the widest, and its listed SNR is the final one.
        using var json = JsonDocument.Parse(File.ReadAllText(folder.Combine(Model + ".quant.json")));
        var tried = json.RootElement.GetProperty("modes_tried").EnumerateArray().ToList();
        Assert.Equal(ModeNames.Length, tried.Count);
        Assert.All(tried, t => Assert.True(t.GetProperty("snr_db").GetDouble() < 80));
        var chosen = Assert.Single(tried, t => t.GetProperty("chosen").GetBoolean());
        Assert.Equal("int16", chosen.GetProperty("datapath_bitwidth_mode").GetString());
        var minimum = json.RootElement.GetProperty("outputs").EnumerateArray().Min(o => o.GetProperty("snr_db").GetDouble());
        Assert.Equal(minimum, chosen.GetProperty("snr_db").GetDouble(), 6);
    }
}
