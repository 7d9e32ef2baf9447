using System.Security.Cryptography;
using System.Text;
using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;

namespace Kneron.Quantization.Tests;

public sealed class ConfigLoaderTests : IDisposable
{
    private const string Minimal = "platform: 720\ncalibration:\n  images: imgs/*.png\n";

    private readonly TestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Write(string yaml) => _folder.WriteText("model.quant.yaml", yaml);

    private QuantConfig Load(string yaml, IReadOnlyList<string>? overrides = null, SourceLocation? overridesSource = null) =>
        ConfigLoader.Load(Write(yaml), overrides, overridesSource);

    private KnqException LoadFails(string yaml, IReadOnlyList<string>? overrides = null, SourceLocation? overridesSource = null) =>
        Assert.Throws<KnqException>(() => Load(yaml, overrides, overridesSource));

    private void AssertAt(KnqException error, string code, int line, int column)
    {
        Assert.Equal(code, error.Code);
        Assert.Equal(_folder.Combine("model.quant.yaml"), error.Diagnostic.Location.Path);
        Assert.Equal(line, error.Diagnostic.Location.Line);
        Assert.Equal(column, error.Diagnostic.Location.Column);
    }

    [Fact]
    public void Minimal_AppliesDefaults()
    {
        var config = Load(Minimal);

        Assert.Equal(Platform.KL720, config.Platform.Value);
        Assert.Equal(BitwidthMode.Int8, config.DatapathBitwidthMode.Value);
        Assert.Equal(BitwidthMode.Int8, config.WeightBitwidthMode.Value);
        Assert.Equal(BitWidth.Int8, config.ModelInBitwidthMode.Value);
        Assert.Equal(BitWidth.Int8, config.ModelOutBitwidthMode.Value);
        Assert.Equal(BitWidth.Int8, config.CpuNodeBitwidthMode.Value);
        Assert.Equal(BitWidth.Int16, config.ConstInBitwidthMode.Value);
        Assert.Equal(0.2, config.FlopsRatio.Value);
        Assert.Equal(RangeMethod.Percentage, config.DatapathRangeMethod.Value);
        Assert.Equal(0.999, config.Percentage.Value);
        Assert.Equal(0.999999, config.Percentage16b.Value);
        Assert.Equal(0.001, config.Percentile.Value);
        Assert.Equal(1.0, config.OutlierFactor.Value);
        Assert.Equal(16, config.MixLightMaxChannels.Value);
        Assert.Equal(0.1, config.MixLightFlopsRatio.Value);
        Assert.Equal(0.5, config.MixBalanceFlopsRatio.Value);
        Assert.False(config.Debug.Value);
        Assert.Equal(20, config.SnrThresholdDb.Value);
        Assert.Equal(LowSnrAction.Error, config.OnLowSnr.Value);
        Assert.Null(config.Evaluation);
        Assert.Empty(config.Inputs);
        Assert.Null(config.QuanConfig.Value);
        Assert.Empty(config.Overrides);
    }

    [Fact]
    public void Minimal_CalibrationDefaults()
    {
        var calibration = Load(Minimal).Calibration;

        Assert.Equal(new[] { "imgs/*.png" }, calibration.Images.Value);
        Assert.Empty(calibration.Tensors.Value);
        Assert.Null(calibration.MaxSamples.Value);
        Assert.Null(calibration.Resize.Value);
        Assert.Equal(ResizeMode.Stretch, calibration.ResizeMode.Value);
        Assert.Equal(ChannelOrder.RGB, calibration.ChannelOrder.Value);
        Assert.Null(calibration.Layout.Value);
        Assert.Equal(new[] { 0f }, calibration.Mean.Value);
        Assert.Equal(new[] { 1f }, calibration.Std.Value);
        Assert.Equal(2, calibration.Location.Line);
        Assert.Equal(1, calibration.Location.Column);
    }

    [Fact]
    public void Defaults_LocatedAtFileStart()
    {
        var config = Load(Minimal);

        Assert.False(config.FlopsRatio.IsSet);
        Assert.Equal(1, config.FlopsRatio.Location.Line);
        Assert.Equal(1, config.FlopsRatio.Location.Column);
    }

    [Fact]
    public void Value_LocatedAtValue()
    {
        var config = Load("platform: 720\nflops_ratio:   0.3\ncalibration:\n  images: a.png\n");

        Assert.True(config.FlopsRatio.IsSet);
        Assert.Equal(0.3, config.FlopsRatio.Value);
        Assert.Equal(2, config.FlopsRatio.Location.Line);
        Assert.Equal(16, config.FlopsRatio.Location.Column);
        Assert.Equal(1, config.Platform.Location.Line);
        Assert.Equal(11, config.Platform.Location.Column);
    }

    [Theory]
    [InlineData("520", Platform.KL520)]
    [InlineData("'530'", Platform.KL530)]
    [InlineData("KL630", Platform.KL630)]
    [InlineData("kl720", Platform.KL720)]
    [InlineData("\"KL730\"", Platform.KL730)]
    public void Platform_AcceptsSpellings(string written, Platform expected)
    {
        var config = Load($"platform: {written}\ncalibration:\n  images: a.png\n");

        Assert.Equal(expected, config.Platform.Value);
    }

    [Fact]
    public void Platform_Invalid()
    {
        var error = LoadFails("platform: 710\ncalibration:\n  images: a.png\n");

        AssertAt(error, ConfigCodes.InvalidValue, 1, 11);
        Assert.Contains("520, 530, 630, 720 or 730, with or without the KL prefix, got '710'", error.Message);
    }

    [Fact]
    public void Platform_Missing()
    {
        var error = LoadFails("calibration:\n  images: a.png\n");

        AssertAt(error, ConfigCodes.MissingKey, 1, 1);
        Assert.StartsWith("platform is missing", error.Message);
    }

    [Fact]
    public void Platform_Empty()
    {
        var error = LoadFails("# chip\nplatform:\ncalibration:\n  images: a.png\n");

        AssertAt(error, ConfigCodes.MissingKey, 2, 1);
        Assert.StartsWith("platform is empty;", error.Message);
    }

    [Fact]
    public void Calibration_Empty()
    {
        var error = LoadFails("platform: 720\ncalibration:\n");

        AssertAt(error, ConfigCodes.MissingKey, 2, 1);
        Assert.StartsWith("calibration is empty;", error.Message);
    }

    [Fact]
    public void Calibration_Missing()
    {
        var error = LoadFails("platform: 720\n");

        AssertAt(error, ConfigCodes.MissingKey, 1, 1);
        Assert.StartsWith("calibration is missing", error.Message);
    }

    [Fact]
    public void UnknownKey_SuggestsNearest()
    {
        var error = LoadFails(Minimal + "percentge: 0.99\n");

        AssertAt(error, ConfigCodes.UnknownKey, 4, 1);
        Assert.Equal("unknown key 'percentge'; did you mean 'percentage'?", error.Message);
    }

    [Fact]
    public void UnknownKey_OnLine3()
    {
        var error = LoadFails("platform: 720\ndebug: true\nfoo_bar_baz: 1\ncalibration:\n  images: a.png\n");

        AssertAt(error, ConfigCodes.UnknownKey, 3, 1);
        Assert.Contains("valid keys are", error.Message);
    }

    [Fact]
    public void UnknownKey_ListsValidKeysSorted()
    {
        var error = LoadFails("platform: 720\ncalibration:\n  images: a.png\n  colour: 3\n");

        AssertAt(error, ConfigCodes.UnknownKey, 4, 3);
        Assert.Equal(
            "unknown key 'colour' in 'calibration'; valid keys are: channel_order, images, layout, max_samples, mean, resize, resize_mode, std, tensors.",
            error.Message);
    }

    [Fact]
    public void UnknownKey_InCalibration()
    {
        var error = LoadFails("platform: 720\ncalibration:\n  images: a.png\n  max_sample: 4\n");

        AssertAt(error, ConfigCodes.UnknownKey, 4, 3);
        Assert.Equal("unknown key 'max_sample' in 'calibration'; did you mean 'max_samples'?", error.Message);
    }

    [Fact]
    public void Outputs_UnknownInCalibration()
    {
        var error = LoadFails("platform: 720\ncalibration:\n  images: a.png\n  outputs: [y]\n");

        AssertAt(error, ConfigCodes.UnknownKey, 4, 3);
    }

    [Fact]
    public void FlopsRatio_OutOfRange()
    {
        var error = LoadFails(Minimal + "flops_ratio: 1.5\n");

        AssertAt(error, ConfigCodes.OutOfRange, 4, 14);
        Assert.Equal("flops_ratio must be between 0 (exclusive) and 1, got 1.5.", error.Message);
    }

    [Fact]
    public void FlopsRatio_Zero()
    {
        var error = LoadFails(Minimal + "flops_ratio: 0\n");

        AssertAt(error, ConfigCodes.OutOfRange, 4, 14);
    }

    [Fact]
    public void FlopsRatio_WrongType()
    {
        var error = LoadFails(Minimal + "flops_ratio: high\n");

        AssertAt(error, ConfigCodes.WrongType, 4, 14);
        Assert.Equal("flops_ratio must be a number, got 'high'.", error.Message);
    }

    [Fact]
    public void Number_QuotedIsText()
    {
        var error = LoadFails(Minimal + "percentage: '0.9'\n");

        AssertAt(error, ConfigCodes.WrongType, 4, 13);
        Assert.Contains("quoted text '0.9'", error.Message);
    }

    [Fact]
    public void Number_Infinity()
    {
        var error = LoadFails(Minimal + "snr_threshold: .inf\n");

        AssertAt(error, ConfigCodes.OutOfRange, 4, 16);
    }

    [Fact]
    public void SnrThreshold_Negative()
    {
        var error = LoadFails(Minimal + "snr_threshold: -5\n");

        AssertAt(error, ConfigCodes.OutOfRange, 4, 16);
        Assert.Equal("snr_threshold must be at least 0, got -5.", error.Message);
    }

    [Fact]
    public void SnrThreshold_NegativeOverride()
    {
        var error = LoadFails(Minimal, ["snr_threshold=-50"]);

        Assert.Equal(ConfigCodes.OutOfRange, error.Code);
        Assert.Equal(new SourceLocation("kneron-quant"), error.Diagnostic.Location);
        Assert.Equal("--set 'snr_threshold=-50': snr_threshold must be at least 0, got -50.", error.Message);
    }

    [Fact]
    public void SnrThreshold_ZeroAllowed()
    {
        Assert.Equal(0, Load(Minimal + "snr_threshold: 0\n").SnrThresholdDb.Value);
    }

    [Fact]
    public void MaxSamples_TooLargeIsRange()
    {
        var error = LoadFails("platform: 720\ncalibration:\n  images: imgs/*.png\n  max_samples: 99999999999999999999\n");

        AssertAt(error, ConfigCodes.OutOfRange, 4, 16);
        Assert.Equal("calibration.max_samples must be an integer between 1 and 2147483647, got 99999999999999999999.", error.Message);
    }

    [Fact]
    public void MaxSamples_FractionIsType()
    {
        var error = LoadFails("platform: 720\ncalibration:\n  images: imgs/*.png\n  max_samples: 2.5\n");

        AssertAt(error, ConfigCodes.WrongType, 4, 16);
    }

    [Fact]
    public void MixLightMaxChannels_NotInteger()
    {
        var error = LoadFails(Minimal + "mix_light_max_channels: 2.5\n");

        AssertAt(error, ConfigCodes.WrongType, 4, 25);
    }

    [Fact]
    public void MixLightMaxChannels_Zero()
    {
        var error = LoadFails(Minimal + "mix_light_max_channels: 0\n");

        AssertAt(error, ConfigCodes.OutOfRange, 4, 25);
    }

    [Fact]
    public void Debug_NotBool()
    {
        var error = LoadFails(Minimal + "debug: yes\n");

        AssertAt(error, ConfigCodes.WrongType, 4, 8);
        Assert.Equal("debug must be true or false, got 'yes'.", error.Message);
    }

    [Fact]
    public void DatapathMode_Int4Invalid()
    {
        var error = LoadFails(Minimal + "datapath_bitwidth_mode: int4\n");

        AssertAt(error, ConfigCodes.InvalidValue, 4, 25);
        Assert.Equal("datapath_bitwidth_mode must be one of int8, int16, mix light, mix balance, mixbw, auto, got 'int4'.", error.Message);
    }

    [Fact]
    public void Modes_AllSpellings()
    {
        var config = Load(Minimal + """
            datapath_bitwidth_mode: mix balance
            weight_bitwidth_mode: int4
            model_in_bitwidth_mode: int16
            model_out_bitwidth_mode: INT16
            cpu_node_bitwidth_mode: int16
            const_in_bitwidth_mode: int8
            datapath_range_method: minmax
            on_low_snr: warning
            debug: true
            snr_threshold: 25.5
            """);

        Assert.Equal(BitwidthMode.MixBalance, config.DatapathBitwidthMode.Value);
        Assert.Equal(BitwidthMode.Int4, config.WeightBitwidthMode.Value);
        Assert.Equal(BitWidth.Int16, config.ModelInBitwidthMode.Value);
        Assert.Equal(BitWidth.Int16, config.ModelOutBitwidthMode.Value);
        Assert.Equal(BitWidth.Int16, config.CpuNodeBitwidthMode.Value);
        Assert.Equal(BitWidth.Int8, config.ConstInBitwidthMode.Value);
        Assert.Equal(RangeMethod.Minmax, config.DatapathRangeMethod.Value);
        Assert.Equal(LowSnrAction.Warning, config.OnLowSnr.Value);
        Assert.True(config.Debug.Value);
        Assert.Equal(25.5, config.SnrThresholdDb.Value);
    }

    [Fact]
    public void DatapathMode_MixLightAndAuto()
    {
        Assert.Equal(BitwidthMode.MixLight, Load(Minimal + "datapath_bitwidth_mode: mix light\n").DatapathBitwidthMode.Value);
        Assert.Equal(BitwidthMode.Auto, Load(Minimal + "datapath_bitwidth_mode: auto\n").DatapathBitwidthMode.Value);
        Assert.Equal(BitwidthMode.MixBw, Load(Minimal + "datapath_bitwidth_mode: mixbw\n").DatapathBitwidthMode.Value);
    }

    [Fact]
    public void WeightMode_AutoInvalid()
    {
        var error = LoadFails(Minimal + "weight_bitwidth_mode: auto\n");

        AssertAt(error, ConfigCodes.InvalidValue, 4, 23);
    }

    [Fact]
    public void ModelIn_Int4Invalid()
    {
        var error = LoadFails(Minimal + "model_in_bitwidth_mode: int4\n");

        AssertAt(error, ConfigCodes.InvalidValue, 4, 25);
        Assert.Contains("int8, int16", error.Message);
    }

    [Fact]
    public void Percentage16b_BelowPercentage()
    {
        var error = LoadFails(Minimal + "percentage: 0.99\npercentage_16b: 0.9\n");

        AssertAt(error, ConfigCodes.Percentage16bBelowPercentage, 5, 17);
        Assert.Contains("at least 0.99", error.Message);
    }

    [Fact]
    public void Percentage16b_DefaultBelowPercentage()
    {
        var error = LoadFails(Minimal + "percentage: 1.0\n");

        AssertAt(error, ConfigCodes.Percentage16bBelowPercentage, 1, 1);
        Assert.Contains("(the default)", error.Message);
    }

    [Fact]
    public void Calibration_BothSources()
    {
        var error = LoadFails("platform: 720\ncalibration:\n  images: a.png\n  tensors: a.npy\n");

        AssertAt(error, ConfigCodes.BothSources, 4, 3);
    }

    [Fact]
    public void Calibration_NoSource()
    {
        var error = LoadFails("platform: 720\ncalibration:\n  max_samples: 4\n");

        AssertAt(error, ConfigCodes.NoSource, 2, 1);
    }

    [Fact]
    public void Calibration_NotMapping()
    {
        var error = LoadFails("platform: 720\ncalibration: imgs/*.png\n");

        AssertAt(error, ConfigCodes.NotAMapping, 2, 14);
    }

    [Fact]
    public void Calibration_AllKeys()
    {
        var calibration = Load("""
            platform: 720
            calibration:
              images: [a/*.png, "b/**/*.jpg"]
              max_samples: 8
              resize: [320, 240]
              resize_mode: letterbox
              channel_order: bgr
              layout: NHWC
              mean: [123.675, 116.28, 103.53]
              std: 58.4
            """).Calibration;

        Assert.Equal(new[] { "a/*.png", "b/**/*.jpg" }, calibration.Images.Value);
        Assert.Equal(8, calibration.MaxSamples.Value);
        Assert.Equal((320, 240), calibration.Resize.Value);
        Assert.Equal(ResizeMode.Letterbox, calibration.ResizeMode.Value);
        Assert.Equal(ChannelOrder.BGR, calibration.ChannelOrder.Value);
        Assert.Equal(TensorLayout.NHWC, calibration.Layout.Value);
        Assert.Equal(new[] { 123.675f, 116.28f, 103.53f }, calibration.Mean.Value);
        Assert.Equal(new[] { 58.4f }, calibration.Std.Value);
        Assert.Equal(5, calibration.Resize.Location.Line);
        Assert.Equal(11, calibration.Resize.Location.Column);
    }

    [Fact]
    public void Std_ZeroEntry()
    {
        var error = LoadFails("platform: 720\ncalibration:\n  images: a.png\n  std: [1, 0, 1]\n");

        AssertAt(error, ConfigCodes.OutOfRange, 4, 12);
    }

    [Fact]
    public void Mean_TwoEntries()
    {
        var error = LoadFails("platform: 720\ncalibration:\n  images: a.png\n  mean: [1, 2]\n");

        AssertAt(error, ConfigCodes.WrongLength, 4, 9);
        Assert.Equal("calibration.mean must have 1, 3 or 4 entries, got 2.", error.Message);
    }

    [Fact]
    public void Resize_OneEntry()
    {
        var error = LoadFails("platform: 720\ncalibration:\n  images: a.png\n  resize: [320]\n");

        AssertAt(error, ConfigCodes.WrongLength, 4, 11);
    }

    [Fact]
    public void Resize_Negative()
    {
        var error = LoadFails("platform: 720\ncalibration:\n  images: a.png\n  resize: [320, -2]\n");

        AssertAt(error, ConfigCodes.OutOfRange, 4, 17);
    }

    [Fact]
    public void ResizeMode_Invalid()
    {
        var error = LoadFails("platform: 720\ncalibration:\n  images: a.png\n  resize_mode: crop\n");

        AssertAt(error, ConfigCodes.InvalidValue, 4, 16);
        Assert.Contains("stretch, letterbox, center_crop", error.Message);
    }

    [Fact]
    public void Images_EmptyList()
    {
        var error = LoadFails("platform: 720\ncalibration:\n  images: []\n");

        AssertAt(error, ConfigCodes.WrongLength, 3, 11);
    }

    [Fact]
    public void Evaluation_InheritsPreprocessing()
    {
        var config = Load("""
            platform: 720
            calibration:
              images: cal/*.png
              mean: 127.5
              std: 127.5
              channel_order: BGR
            evaluation:
              images: eval/*.png
              max_samples: 3
              std: 64
              outputs: [scores, boxes]
            """);

        var evaluation = config.Evaluation!;
        Assert.Equal(new[] { "eval/*.png" }, evaluation.Images.Value);
        Assert.Equal(3, evaluation.MaxSamples.Value);
        Assert.Equal(new[] { 127.5f }, evaluation.Mean.Value);
        Assert.Equal(4, evaluation.Mean.Location.Line);
        Assert.Equal(new[] { 64f }, evaluation.Std.Value);
        Assert.Equal(ChannelOrder.BGR, evaluation.ChannelOrder.Value);
        Assert.Equal(new[] { "scores", "boxes" }, evaluation.Outputs.Value);
    }

    [Fact]
    public void Evaluation_OutputsOnly()
    {
        var config = Load("platform: 720\ncalibration:\n  tensors: t/*.npy\n  max_samples: 5\nevaluation:\n  outputs: heat\n");

        var evaluation = config.Evaluation!;
        Assert.Equal(new[] { "t/*.npy" }, evaluation.Tensors.Value);
        Assert.Equal(5, evaluation.MaxSamples.Value);
        Assert.Equal(new[] { "heat" }, evaluation.Outputs.Value);
    }

    [Fact]
    public void Evaluation_BothSources()
    {
        var error = LoadFails(Minimal + "evaluation:\n  images: a.png\n  tensors: b.npy\n");

        AssertAt(error, ConfigCodes.BothSources, 6, 3);
    }

    [Fact]
    public void Inputs_ShapeAndSource()
    {
        var config = Load(Minimal + """
            inputs:
              image:
                shape: [1, 3, 320, 320]
              mask:
                shape: [1, 1, 320, 320]
                tensors: masks/*.npy
                max_samples: 2
            """);

        var image = config.Inputs["image"];
        var mask = config.Inputs["mask"];
        Assert.Equal(new long[] { 1, 3, 320, 320 }, image.Shape.Value);
        Assert.Null(image.Calibration);
        Assert.Equal(5, image.Location.Line);
        Assert.Equal(3, image.Location.Column);
        Assert.Equal(new[] { "masks/*.npy" }, mask.Calibration!.Tensors.Value);
        Assert.Equal(2, mask.Calibration.MaxSamples.Value);
    }

    [Fact]
    public void Inputs_PreprocessingWithoutSource()
    {
        var error = LoadFails(Minimal + "inputs:\n  image:\n    mean: 1\n");

        AssertAt(error, ConfigCodes.NoSource, 5, 3);
    }

    [Fact]
    public void Inputs_ShapeZero()
    {
        var error = LoadFails(Minimal + "inputs:\n  image:\n    shape: [1, 3, 0, 320]\n");

        AssertAt(error, ConfigCodes.OutOfRange, 6, 19);
    }

    [Fact]
    public void Inputs_ShapeTooManyElements()
    {
        var error = LoadFails(Minimal + "inputs:\n  x:\n    shape: [1, 3, 100000, 100000]\n");

        AssertAt(error, ConfigCodes.OutOfRange, 6, 12);
        Assert.Equal(
            "inputs.x.shape [1, 3, 100000, 100000] has 30000000000 elements in one sample, above the limit of 268435456 (2^28, 1 GiB as float32); give the input's real size.",
            error.Message);
    }

    [Fact]
    public void Inputs_ShapeAtElementLimit()
    {
        var config = Load(Minimal + "inputs:\n  x:\n    shape: [1, 4, 8192, 8192]\n");

        Assert.Equal(new long[] { 1, 4, 8192, 8192 }, config.Inputs["x"].Shape.Value);
    }

    [Fact]
    public void Inputs_ShapeHugeDimensionsNoOverflow()
    {
        var error = LoadFails(Minimal + "inputs:\n  x:\n    shape: [2147483647, 2147483647, 2147483647]\n");

        AssertAt(error, ConfigCodes.OutOfRange, 6, 12);
        Assert.Contains("above the limit of 268435456", error.Message);
    }

    [Fact]
    public void QuanConfig_RawText()
    {
        var config = Load(Minimal + """
            quan_config:
              conv_1:
                datapath_bitwidth_mode: int16
              conv_2: int4
            """);

        var entries = config.QuanConfig.Value!;
        Assert.Equal("{datapath_bitwidth_mode: int16}", entries["conv_1"]);
        Assert.Equal("int4", entries["conv_2"]);
        Assert.Equal(5, config.QuanConfig.Location.Line);
    }

    [Fact]
    public void Yaml_SyntaxError()
    {
        var error = LoadFails("platform: 720\ncalibration:\n  images: [a.png\n");

        Assert.Equal(ConfigCodes.YamlSyntax, error.Code);
        Assert.Equal(4, error.Diagnostic.Location.Line);
        Assert.Equal(1, error.Diagnostic.Location.Column);
        Assert.StartsWith("invalid YAML", error.Message);
    }

    [Fact]
    public void Yaml_BadIndent()
    {
        var error = LoadFails("platform: 720\ncalibration:\n  images: a.png\n   max_samples: 2\n");

        AssertAt(error, ConfigCodes.YamlSyntax, 4, 15);
    }

    [Fact]
    public void Yaml_UnclosedBracketAcrossLines()
    {
        var error = LoadFails("calibration:\n  images: images/*\n  mean: [127.5, 127.5\n  std: [127.5]\n");

        AssertAt(error, ConfigCodes.YamlSyntax, 3, 9);
        Assert.StartsWith("invalid YAML: the '[' that opens here is not closed", error.Message);
        Assert.IsType<InvalidOperationException>(error.InnerException);
    }

    [Fact]
    public void Yaml_UnclosedBraceAcrossLines()
    {
        var error = LoadFails("platform: 720\nstd: {a: 1\ncalibration: 2\n");

        AssertAt(error, ConfigCodes.YamlSyntax, 2, 6);
        Assert.Contains("'{'", error.Message);
        Assert.Contains("'}'", error.Message);
    }

    [Fact]
    public void Yaml_EmptyKeyWithNestedValue()
    {
        // YamlDotNet 18.1 throws ArgumentException here instead of a YamlException.
        var error = LoadFails("platform: 720\ninputs:\n   :\n    shape: [1]\n");

        Assert.Equal(ConfigCodes.YamlSyntax, error.Code);
        Assert.IsType<ArgumentException>(error.InnerException);
        Assert.StartsWith("invalid YAML", error.Message);
    }

    [Fact]
    public void Yaml_TabIndentLine()
    {
        var error = LoadFails("platform: 720\ncalibration:\n\timages: a.png\n");

        AssertAt(error, ConfigCodes.YamlSyntax, 3, 1);
        Assert.Contains("found invalid tab as indentation", error.Message);
        Assert.Contains("indent with spaces", error.Message);
    }

    [Fact]
    public void Yaml_UndefinedAlias()
    {
        var error = LoadFails(Minimal + "std: *scale\n");

        AssertAt(error, ConfigCodes.YamlSyntax, 4, 6);
        Assert.Contains("'*scale'", error.Message);
    }

    [Fact]
    public void Yaml_AnchorAndAliasLoad()
    {
        var config = Load("platform: 720\ncalibration:\n  images: a.png\n  mean: &m 2\n  std: *m\n");

        Assert.Equal(new[] { 2f }, config.Calibration.Std.Value);
    }

    [Fact]
    public void Yaml_SecondDocument()
    {
        var error = LoadFails(Minimal + "---\nflops_ratio: 0.5\n");

        AssertAt(error, ConfigCodes.MultipleDocuments, 4, 1);
        Assert.Contains("second YAML document", error.Message);
    }

    [Fact]
    public void Yaml_TrailingDocumentMarker()
    {
        var config = Load("---\n" + Minimal + "---\n# nothing more\n");

        Assert.Equal(Platform.KL720, config.Platform.Value);
    }

    [Fact]
    public void Yaml_DuplicateEmptyKey()
    {
        var error = LoadFails("platform: 720\n:\n:\n");

        Assert.Equal(ConfigCodes.DuplicateKey, error.Code);
        Assert.True(error.Diagnostic.Location.Line > 1, $"reported at line {error.Diagnostic.Location.Line}");
    }

    [Fact]
    public void Yaml_DuplicateKey()
    {
        var error = LoadFails("platform: 720\nplatform: 520\ncalibration:\n  images: a.png\n");

        AssertAt(error, ConfigCodes.DuplicateKey, 2, 1);
    }

    [Fact]
    public void EmptyFile_Error()
    {
        var error = LoadFails("");

        Assert.Equal(ConfigCodes.EmptyFile, error.Code);
        Assert.Equal(0, error.Diagnostic.Location.Line);
    }

    [Fact]
    public void CommentsOnly_Empty()
    {
        var error = LoadFails("# nothing yet\n\n");

        Assert.Equal(ConfigCodes.EmptyFile, error.Code);
    }

    [Fact]
    public void TopLevelList_NotMapping()
    {
        var error = LoadFails("- platform: 720\n");

        AssertAt(error, ConfigCodes.NotAMapping, 1, 1);
    }

    [Fact]
    public void MissingFile_Error()
    {
        var path = _folder.Combine("absent.quant.yaml");

        var error = Assert.Throws<KnqException>(() => ConfigLoader.Load(path));

        Assert.Equal(ConfigCodes.FileNotFound, error.Code);
        Assert.Equal(path, error.Diagnostic.Location.Path);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void InvalidUtf8_Error()
    {
        var path = _folder.WriteBytes("model.quant.yaml", [(byte)'a', (byte)':', (byte)' ', 0xff, 0xfe]);

        var error = Assert.Throws<KnqException>(() => ConfigLoader.Load(path));

        Assert.Equal(ConfigCodes.FileUnreadable, error.Code);
    }

    [Fact]
    public void BomAndCrlf_Load()
    {
        var text = "platform: KL520\r\n# comment\r\nflops_ratio: 0.4\r\ncalibration:\r\n  images: a.png\r\n";
        var path = _folder.WriteBytes("model.quant.yaml", [.. Encoding.UTF8.Preamble, .. Encoding.UTF8.GetBytes(text)]);

        var config = ConfigLoader.Load(path);

        Assert.Equal(Platform.KL520, config.Platform.Value);
        Assert.Equal(1, config.Platform.Location.Line);
        Assert.Equal(11, config.Platform.Location.Column);
        Assert.Equal(3, config.FlopsRatio.Location.Line);
        Assert.Equal(14, config.FlopsRatio.Location.Column);
    }

    [Fact]
    public void BomAndCrlf_ErrorLine()
    {
        var text = "platform: 720\r\ncalibration:\r\n  images: a.png\r\npercentge: 1\r\n";
        var path = _folder.WriteBytes("model.quant.yaml", [.. Encoding.UTF8.Preamble, .. Encoding.UTF8.GetBytes(text)]);

        var error = Assert.Throws<KnqException>(() => ConfigLoader.Load(path));

        AssertAt(error, ConfigCodes.UnknownKey, 4, 1);
    }

    [Fact]
    public void Sha256_OfFileBytes()
    {
        var path = Write(Minimal);
        var expected = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant();

        var config = ConfigLoader.Load(path);

        Assert.Equal(expected, config.Sha256);
        Assert.Equal(path, config.FilePath);
        Assert.Equal(_folder.Path, config.BaseDirectory);
    }

    [Fact]
    public void Override_DottedKey()
    {
        var overrides = new[] { "calibration.max_samples=8", "datapath_bitwidth_mode=mix light", "calibration.mean=[1, 2, 3]" };

        var config = Load(Minimal, overrides);

        Assert.Equal(8, config.Calibration.MaxSamples.Value);
        Assert.True(config.Calibration.MaxSamples.IsSet);
        Assert.Equal(BitwidthMode.MixLight, config.DatapathBitwidthMode.Value);
        Assert.Equal(new[] { 1f, 2f, 3f }, config.Calibration.Mean.Value);
        Assert.Equal(overrides, config.Overrides);
    }

    [Fact]
    public void Override_ReplacesValue()
    {
        var config = Load(Minimal + "flops_ratio: 0.3\n", ["flops_ratio=0.6", "flops_ratio=0.7"]);

        Assert.Equal(0.7, config.FlopsRatio.Value);
    }

    [Fact]
    public void Override_GlobIsText()
    {
        var config = Load(Minimal, ["calibration.images=*.png"]);

        Assert.Equal(new[] { "*.png" }, config.Calibration.Images.Value);
    }

    [Fact]
    public void Override_CreatesSection()
    {
        var config = Load(Minimal, ["evaluation.max_samples=2"]);

        Assert.Equal(2, config.Evaluation!.MaxSamples.Value);
        Assert.Equal(new[] { "imgs/*.png" }, config.Evaluation.Images.Value);
    }

    [Fact]
    public void Override_ErrorAtSource()
    {
        var project = new SourceLocation("/repo/app.csproj", 12, 5);

        var error = LoadFails(Minimal, ["flops_ratio=2"], project);

        Assert.Equal(ConfigCodes.OutOfRange, error.Code);
        Assert.Equal(project, error.Diagnostic.Location);
    }

    [Fact]
    public void Override_ErrorAtCommandLine()
    {
        var error = LoadFails(Minimal, ["flops_ratio=2"]);

        Assert.Equal(ConfigCodes.OutOfRange, error.Code);
        Assert.Equal(new SourceLocation("kneron-quant"), error.Diagnostic.Location);
        Assert.StartsWith("--set 'flops_ratio=2': flops_ratio must be between", error.Message);
    }

    [Fact]
    public void Override_UnknownKeyNamesSet()
    {
        var error = LoadFails(Minimal, ["snr_treshold=5"]);

        Assert.Equal(ConfigCodes.UnknownKey, error.Code);
        Assert.Equal("kneron-quant", error.Diagnostic.Location.Path);
        Assert.Equal(0, error.Diagnostic.Location.Line);
        Assert.Equal("--set 'snr_treshold=5': unknown key 'snr_treshold'; did you mean 'snr_threshold'?", error.Message);
        Assert.Equal("kneron-quant: error KNQ0105: --set 'snr_treshold=5': unknown key 'snr_treshold'; did you mean 'snr_threshold'?", error.Diagnostic.ToString());
    }

    [Fact]
    public void Override_ValueInFileSection()
    {
        var error = LoadFails(Minimal, ["calibration.mean=[1, 2]"]);

        Assert.Equal(ConfigCodes.WrongLength, error.Code);
        Assert.Equal("kneron-quant", error.Diagnostic.Location.Path);
        Assert.StartsWith("--set 'calibration.mean=[1, 2]': calibration.mean must have", error.Message);
    }

    [Fact]
    public void Override_UnknownKey()
    {
        var project = new SourceLocation("/repo/app.csproj", 7, 3);

        var error = LoadFails(Minimal, ["calibration.max_sample=8"], project);

        Assert.Equal(ConfigCodes.UnknownKey, error.Code);
        Assert.Equal(project, error.Diagnostic.Location);
        Assert.Equal("override 'calibration.max_sample=8': unknown key 'max_sample' in 'calibration'; did you mean 'max_samples'?", error.Message);
    }

    [Fact]
    public void Override_MissingEquals()
    {
        var error = LoadFails(Minimal, ["flops_ratio"]);

        Assert.Equal(ConfigCodes.InvalidOverride, error.Code);
        Assert.Equal(new SourceLocation("kneron-quant"), error.Diagnostic.Location);
        Assert.Contains("'flops_ratio'", error.Message);
    }

    [Fact]
    public void Override_IntoScalar()
    {
        var error = LoadFails(Minimal, ["platform.chip=720"]);

        Assert.Equal(ConfigCodes.InvalidOverride, error.Code);
        Assert.Contains("'platform' is not a section", error.Message);
    }

    [Fact]
    public void NullValue_UsesDefault()
    {
        var config = Load(Minimal + "flops_ratio:\ndebug: ~\n");

        Assert.Equal(0.2, config.FlopsRatio.Value);
        Assert.False(config.FlopsRatio.IsSet);
        Assert.False(config.Debug.Value);
    }

    [Fact]
    public void SeveralErrors_AllReported()
    {
        var yaml = "platform: 720\nflops_ratio: 2\npercentge: 1\ndebug: yes\ncalibration:\n  images: a.png\n  mean: [1, 2]\n  foo: 3\n";
        var sink = new DiagnosticBag();

        var error = Assert.Throws<KnqException>(() => ConfigLoader.Load(Write(yaml), sink: sink));

        AssertAt(error, ConfigCodes.OutOfRange, 2, 14);
        var reported = sink.Items.Select(d => (d.Code, d.Location.Line, d.Location.Column, d.Severity)).ToList();
        Assert.Equal(
            new[]
            {
                (ConfigCodes.UnknownKey, 3, 1, DiagnosticSeverity.Error),
                (ConfigCodes.WrongType, 4, 8, DiagnosticSeverity.Error),
                (ConfigCodes.WrongLength, 7, 9, DiagnosticSeverity.Error),
                (ConfigCodes.UnknownKey, 8, 3, DiagnosticSeverity.Error),
            },
            reported);
    }

    [Fact]
    public void SeveralErrors_NoSinkThrowsFirst()
    {
        var error = LoadFails("platform: 710\nflops_ratio: 2\ncalibration:\n  images: a.png\n");

        AssertAt(error, ConfigCodes.InvalidValue, 1, 11);
    }

    [Fact]
    public void SeveralErrors_MissingCalibrationAndBadEvaluation()
    {
        var sink = new DiagnosticBag();

        var error = Assert.Throws<KnqException>(() => ConfigLoader.Load(Write("platform: 720\nevaluation:\n  max_samples: 0\n"), sink: sink));

        AssertAt(error, ConfigCodes.MissingKey, 1, 1);
        var other = Assert.Single(sink.Items);
        Assert.Equal(ConfigCodes.OutOfRange, other.Code);
        Assert.Equal(3, other.Location.Line);
    }

    [Fact]
    public void SeveralErrors_NoOrderCheckAfterRejectedPercentage()
    {
        var sink = new DiagnosticBag();

        var error = Assert.Throws<KnqException>(() => ConfigLoader.Load(Write(Minimal + "percentage: 2\npercentage_16b: 0.99\n"), sink: sink));

        AssertAt(error, ConfigCodes.OutOfRange, 4, 13);
        Assert.Empty(sink.Items);
    }
}
