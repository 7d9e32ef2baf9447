using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;
using Kneron.Quantization.Planning;

namespace Kneron.Quantization.Tests;

/// <summary>Platform rules and mixbw pairings: each violation is a coded error at the YAML key that breaks it.</summary>
public sealed class ModeRuleTests
{
    private const string Calibration = "calibration:\n  images: \"*.png\"\n";

    private static KnqException Reject(string keys)
    {
        using var folder = new TestFolder();
        var path = folder.WriteText("m.quant.yaml", keys + Calibration);
        var config = ConfigLoader.Load(path);
        return Assert.Throws<KnqException>(() => ModeResolver.Resolve(config, new DiagnosticBag()));
    }

    [Theory]
    [InlineData("platform: 520\ndatapath_bitwidth_mode: int16\n", 2, 25)]
    [InlineData("platform: 520\nweight_bitwidth_mode: int16\n", 2, 23)]
    [InlineData("platform: 520\ndatapath_bitwidth_mode: mix light\n", 2, 25)]
    [InlineData("platform: 520\ndatapath_bitwidth_mode: mixbw\nweight_bitwidth_mode: mixbw\n", 2, 25)]
    [InlineData("platform: 520\nmodel_in_bitwidth_mode: int16\n", 2, 25)]
    [InlineData("platform: 520\nmodel_out_bitwidth_mode: int16\n", 2, 26)]
    [InlineData("platform: 520\ncpu_node_bitwidth_mode: int16\n", 2, 25)]
    [InlineData("platform: 520\nconst_in_bitwidth_mode: int16\n", 2, 25)]
    [InlineData("platform: 720\nweight_bitwidth_mode: int4\n", 2, 23)]
    public void PlatformRejectsWidthAtKey(string keys, int line, int column)
    {
        var error = Reject(keys);

        Assert.Equal(ModeCodes.PlatformForbidsBitWidth, error.Code);
        Assert.Equal(line, error.Diagnostic.Location.Line);
        Assert.Equal(column, error.Diagnostic.Location.Column);
        Assert.Contains("KL" + keys.Substring(10, 3), error.Message);
        Assert.Contains("allows", error.Message);
    }

    [Theory]
    [InlineData("530")]
    [InlineData("630")]
    [InlineData("730")]
    public void Int4WeightsAllowedFromKl530(string platform)
    {
        using var folder = new TestFolder();
        var config = ConfigLoader.Load(folder.WriteText("m.quant.yaml", $"platform: {platform}\nweight_bitwidth_mode: int4\n" + Calibration));

        var request = ModeResolver.Resolve(config, new DiagnosticBag());

        Assert.Equal(BitwidthMode.Int4, request.Weight);
    }

    [Theory]
    [InlineData("520")]
    [InlineData("720")]
    public void QuanConfigOnlyOnKl730(string platform)
    {
        var error = Reject($"platform: {platform}\nquan_config:\n  conv_1: {{ datapath_bitwidth_mode: int16 }}\n");

        Assert.Equal(ModeCodes.QuanConfigNotSupported, error.Code);
        Assert.Equal(3, error.Diagnostic.Location.Line);
        Assert.Contains("KL730", error.Message);
    }

    [Theory]
    [InlineData("datapath_bitwidth_mode: mixbw\nweight_bitwidth_mode: int8\n", 3, 23)]
    [InlineData("datapath_bitwidth_mode: mixbw\nweight_bitwidth_mode: mix light\n", 3, 23)]
    [InlineData("datapath_bitwidth_mode: mixbw\n", 2, 25)]
    [InlineData("datapath_bitwidth_mode: int8\nweight_bitwidth_mode: mixbw\n", 2, 25)]
    [InlineData("datapath_bitwidth_mode: mix balance\nweight_bitwidth_mode: mixbw\n", 2, 25)]
    [InlineData("weight_bitwidth_mode: mixbw\n", 2, 23)]
    [InlineData("datapath_bitwidth_mode: auto\nweight_bitwidth_mode: int16\n", 3, 23)]
    public void InvalidMixBwPairAtKey(string keys, int line, int column)
    {
        var error = Reject("platform: 720\n" + keys);

        Assert.Equal(ModeCodes.InvalidMixBwCombination, error.Code);
        Assert.Equal(line, error.Diagnostic.Location.Line);
        Assert.Equal(column, error.Diagnostic.Location.Column);
    }

    [Theory]
    [InlineData("datapath_bitwidth_mode: int8\n", "weight_bitwidth_mode=mixbw")]
    [InlineData("weight_bitwidth_mode: int8\n", "datapath_bitwidth_mode=mixbw")]
    [InlineData("datapath_bitwidth_mode: int16\n", "platform=520")]
    [InlineData("model_in_bitwidth_mode: int16\n", "platform=520")]
    [InlineData("quan_config:\n  conv_1: { datapath_bitwidth_mode: int16 }\n", "platform=720")]
    public void OverrideRuleErrorAtSource(string keys, string setting)
    {
        using var folder = new TestFolder();
        var path = folder.WriteText("m.quant.yaml", "platform: 730\n" + keys + Calibration);
        var project = folder.Combine("App.csproj");
        var config = ConfigLoader.Load(path, new[] { setting }, new SourceLocation(project));

        var error = Assert.Throws<KnqException>(() => ModeResolver.Resolve(config, new DiagnosticBag()));

        Assert.Equal(project, error.Diagnostic.Location.Path);
        Assert.Equal(0, error.Diagnostic.Location.Line);
    }

    [Fact]
    public void YamlRuleErrorStaysAtKey()
    {
        using var folder = new TestFolder();
        var path = folder.WriteText("m.quant.yaml", "platform: 720\ndatapath_bitwidth_mode: int8\nweight_bitwidth_mode: mixbw\n" + Calibration);
        var config = ConfigLoader.Load(path, new[] { "snr_threshold=5" }, new SourceLocation(folder.Combine("App.csproj")));

        var error = Assert.Throws<KnqException>(() => ModeResolver.Resolve(config, new DiagnosticBag()));

        Assert.Equal(path, error.Diagnostic.Location.Path);
        Assert.Equal(2, error.Diagnostic.Location.Line);
        Assert.Equal(25, error.Diagnostic.Location.Column);
    }

    [Theory]
    [InlineData("mixbw", "int16")]
    [InlineData("int16", "mixbw")]
    [InlineData("mixbw", "mixbw")]
    public void ValidMixBwPairsForceInt16Ends(string datapath, string weight)
    {
        using var folder = new TestFolder();
        var path = folder.WriteText("m.quant.yaml",
            $"platform: 720\ndatapath_bitwidth_mode: {datapath}\nweight_bitwidth_mode: {weight}\nmodel_in_bitwidth_mode: int8\n" + Calibration);
        var diagnostics = new DiagnosticBag();

        var request = ModeResolver.Resolve(ConfigLoader.Load(path), diagnostics);

        Assert.Equal(BitWidth.Int16, request.ModelIn);
        Assert.Equal(BitWidth.Int16, request.ModelOut);
        Assert.Equal(BitWidth.Int16, request.CpuNode);
        var warning = Assert.Single(diagnostics.Items);
        Assert.Equal(ModeCodes.MixBwForcesInt16, warning.Code);
        Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
        Assert.Equal(4, warning.Location.Line);
    }

    [Fact]
    public void PercentageAbovePercentage16bAtKey()
    {
        using var folder = new TestFolder();
        var path = folder.WriteText("m.quant.yaml", "platform: 720\npercentage: 0.9999\npercentage_16b: 0.999\n" + Calibration);

        var error = Assert.Throws<KnqException>(() => ConfigLoader.Load(path));

        Assert.Equal(3, error.Diagnostic.Location.Line);
        Assert.Equal(17, error.Diagnostic.Location.Column);
    }
}
