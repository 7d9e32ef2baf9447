using System.Text.Json;

namespace Kneron.Quantization.Tests;

/// <summary>
/// KNQ0508: a 16-bit datapath mode with CPU nodes left at the default 8 bits. PP-OCR cls has
/// HardSigmoid, Div and Softmax nodes that run on KL720's CPU.
/// </summary>
public sealed class CpuWidthCheckTests
{
    private const string Model = "ppocr_cls";

    private static CliResult Analyze(TestFolder folder, params string[] settings)
    {
        var args = new List<string> { "analyze", TestModels.ModelPath(Model), "--config", TestModels.ConfigPath(Model), "--output", folder.Path,
            "--set", "on_low_snr=warning" };
        foreach (var setting in settings)
        {
            args.Add("--set");
            args.Add(setting);
        }

        return CliResult.Run(args.ToArray());
    }

    private static (int CpuNodes, double SnrDb) ReadTable(TestFolder folder)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(folder.Combine(Model + ".quant.json")));
        int cpuNodes = json.RootElement.GetProperty("layers").EnumerateArray().Count(l => l.GetProperty("category").GetString() == "cpu");
        return (cpuNodes, json.RootElement.GetProperty("snr_db").GetDouble());
    }

    [Theory]
    [InlineData("int16", "int16")]
    [InlineData("mix balance", "mix balance")]
    public void WideDatapathWarnsAboutCpuNodes(string datapath, string weight)
    {
        using var folder = new TestFolder();

        var result = Analyze(folder, $"datapath_bitwidth_mode={datapath}", $"weight_bitwidth_mode={weight}");

        Assert.True(result.ExitCode == 0, result.Error);
        var line = Assert.Single(result.ErrorLines, l => l.Contains("KNQ0508", StringComparison.Ordinal));
        var (cpuNodes, _) = ReadTable(folder);
        Assert.True(cpuNodes > 0);
        Assert.StartsWith("kneron-quant: warning KNQ0508:", line);
        Assert.Contains($"datapath_bitwidth_mode is '{datapath}', but the model's {cpuNodes} CPU nodes (", line);
        Assert.Contains("HardSigmoid", line);
        Assert.Contains("Set cpu_node_bitwidth_mode: int16", line);
    }

    [Fact]
    public void CpuNodesAtSixteenBitsRemoveWarning()
    {
        using var eightBitFolder = new TestFolder();
        using var sixteenBitFolder = new TestFolder();

        var eightBit = Analyze(eightBitFolder, "datapath_bitwidth_mode=int16", "weight_bitwidth_mode=int16");
        var sixteenBit = Analyze(sixteenBitFolder, "datapath_bitwidth_mode=int16", "weight_bitwidth_mode=int16", "cpu_node_bitwidth_mode=int16");

        Assert.True(sixteenBit.ExitCode == 0, sixteenBit.Error);
        Assert.DoesNotContain("KNQ0508", sixteenBit.Error);
        // The 8-bit CPU nodes were the noise the warning names: 25.45 dB against 44.47 dB when measured.
        var (_, eightBitSnr) = ReadTable(eightBitFolder);
        var (_, sixteenBitSnr) = ReadTable(sixteenBitFolder);
        Assert.True(sixteenBitSnr > eightBitSnr + 10, $"int16 CPU nodes {sixteenBitSnr:0.00} dB, int8 CPU nodes {eightBitSnr:0.00} dB");
    }

    [Theory]
    [InlineData("datapath_bitwidth_mode=int8")]
    [InlineData("datapath_bitwidth_mode=mix light")]
    [InlineData("datapath_bitwidth_mode=int16", "cpu_node_bitwidth_mode=int8")]
    [InlineData("datapath_bitwidth_mode=auto")]
    public void OtherModesDoNotWarn(params string[] settings)
    {
        using var folder = new TestFolder();

        var result = Analyze(folder, settings);

        // Exit 0 only: an analysis that stops with an error never reaches the check, so the test would pass without it.
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.DoesNotContain("KNQ0508", result.Error);
    }
}
