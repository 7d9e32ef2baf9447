using System.Globalization;
using System.Numerics;
using Kneron.Quantization.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace Kneron.Quantization.Config;

/// <summary>
/// Builds a <see cref="QuantConfig"/> from the top-level mapping, key by key.
/// Errors are recorded in the <see cref="ConfigDocument"/> and the reading
/// goes on with defaults, so the config returned is valid only when none were recorded.
/// </summary>
internal static class ConfigReader
{
    /// <summary>
    /// Maximum element count of one sample that <c>inputs.&lt;name&gt;.shape</c>
    /// may give (2^28, 1 GiB as float32). It rejects a mistyped shape at load,
    /// before image resizing or ONNX Runtime try to allocate it.
    /// </summary>
    public const long MaxShapeElements = 1L << 28;

    private static readonly string[] TopLevelKeys =
    {
        "platform",
        "datapath_bitwidth_mode",
        "weight_bitwidth_mode",
        "model_in_bitwidth_mode",
        "model_out_bitwidth_mode",
        "cpu_node_bitwidth_mode",
        "const_in_bitwidth_mode",
        "flops_ratio",
        "datapath_range_method",
        "percentage",
        "percentage_16b",
        "percentile",
        "outlier_factor",
        "mix_light_max_channels",
        "mix_light_flops_ratio",
        "mix_balance_flops_ratio",
        "debug",
        "snr_threshold",
        "on_low_snr",
        "calibration",
        "evaluation",
        "inputs",
        "quan_config",
    };

    private static readonly (string, BitwidthMode)[] DatapathModes =
    {
        ("int8", BitwidthMode.Int8),
        ("int16", BitwidthMode.Int16),
        ("mix light", BitwidthMode.MixLight),
        ("mix balance", BitwidthMode.MixBalance),
        ("mixbw", BitwidthMode.MixBw),
        ("auto", BitwidthMode.Auto),
    };

    private static readonly (string, BitwidthMode)[] WeightModes =
    {
        ("int8", BitwidthMode.Int8),
        ("int16", BitwidthMode.Int16),
        ("int4", BitwidthMode.Int4),
        ("mix light", BitwidthMode.MixLight),
        ("mix balance", BitwidthMode.MixBalance),
        ("mixbw", BitwidthMode.MixBw),
    };

    private static readonly (string, BitWidth)[] TensorWidths =
    {
        ("int8", BitWidth.Int8),
        ("int16", BitWidth.Int16),
    };

    private static readonly (string, RangeMethod)[] RangeMethods =
    {
        ("percentage", RangeMethod.Percentage),
        ("mmse", RangeMethod.Mmse),
        ("minmax", RangeMethod.Minmax),
    };

    private static readonly (string, LowSnrAction)[] LowSnrActions =
    {
        ("error", LowSnrAction.Error),
        ("warning", LowSnrAction.Warning),
    };

    public static QuantConfig Read(ConfigDocument document, string sha256, IReadOnlyList<string> overrides)
    {
        var top = new ConfigSection(document, document.Root, "", TopLevelKeys);

        var platform = ConfigValues.Recover(top, ConfigValues.Default(top, Platform.KL720), () => ReadPlatform(top));
        var errorsBefore = document.Errors.Count;
        var percentage = ConfigValues.ReadNumber(top, "percentage", 0.999, NumberRange.UnitInterval);
        var percentage16b = ConfigValues.ReadNumber(top, "percentage_16b", 0.999999, NumberRange.UnitInterval);
        if (document.Errors.Count == errorsBefore)
        {
            // Compared only when both were read, because a rejected value reads as its default.
            ConfigValues.Recover(top, 0, () => CheckPercentageOrder(percentage, percentage16b));
        }

        var calibration = ReadCalibration(top);
        var evaluation = ReadEvaluation(top, calibration);
        var inputs = ReadInputs(top, calibration);

        return new QuantConfig
        {
            FilePath = document.FilePath,
            Platform = platform,
            DatapathBitwidthMode = ConfigValues.ReadEnum(top, "datapath_bitwidth_mode", BitwidthMode.Int8, DatapathModes),
            WeightBitwidthMode = ConfigValues.ReadEnum(top, "weight_bitwidth_mode", BitwidthMode.Int8, WeightModes),
            ModelInBitwidthMode = ConfigValues.ReadEnum(top, "model_in_bitwidth_mode", BitWidth.Int8, TensorWidths),
            ModelOutBitwidthMode = ConfigValues.ReadEnum(top, "model_out_bitwidth_mode", BitWidth.Int8, TensorWidths),
            CpuNodeBitwidthMode = ConfigValues.ReadEnum(top, "cpu_node_bitwidth_mode", BitWidth.Int8, TensorWidths),
            ConstInBitwidthMode = ConfigValues.ReadEnum(top, "const_in_bitwidth_mode", BitWidth.Int16, TensorWidths),
            FlopsRatio = ConfigValues.ReadNumber(top, "flops_ratio", 0.2, NumberRange.UnitInterval),
            DatapathRangeMethod = ConfigValues.ReadEnum(top, "datapath_range_method", RangeMethod.Percentage, RangeMethods),
            Percentage = percentage,
            Percentage16b = percentage16b,
            // NOTE: Kneron documents percentile and outlier_factor (mmse only) without ranges;
            // these bounds are ours: a fraction of outliers below 1, and a positive factor.
            Percentile = ConfigValues.ReadNumber(top, "percentile", 0.001, new NumberRange(0, true, 1, true)),
            OutlierFactor = ConfigValues.ReadNumber(top, "outlier_factor", 1.0, NumberRange.Positive),
            MixLightMaxChannels = ConfigValues.ReadInt(top, "mix_light_max_channels", 16, min: 1),
            MixLightFlopsRatio = ConfigValues.ReadNumber(top, "mix_light_flops_ratio", 0.1, NumberRange.UnitInterval),
            MixBalanceFlopsRatio = ConfigValues.ReadNumber(top, "mix_balance_flops_ratio", 0.5, NumberRange.UnitInterval),
            Debug = ConfigValues.ReadBool(top, "debug", false),
            // A negative threshold would let quantization noise louder than the signal pass.
            SnrThresholdDb = ConfigValues.ReadNumber(top, "snr_threshold", 20, NumberRange.NonNegative),
            OnLowSnr = ConfigValues.ReadEnum(top, "on_low_snr", LowSnrAction.Error, LowSnrActions),
            Calibration = calibration,
            Evaluation = evaluation,
            Inputs = inputs,
            QuanConfig = ReadQuanConfig(top),
            Sha256 = sha256,
            Overrides = overrides,
        };
    }

    /// <summary>Accepts 720, "720", "KL720" and "kl720".</summary>
    private static Located<Platform> ReadPlatform(ConfigSection top)
    {
        const string allowed = "520, 530, 630, 720 or 730, with or without the KL prefix";
        if (!top.TryGet("platform", out _, out var node))
        {
            throw MissingOrEmpty(top, "platform", $"add a line such as 'platform: 720' (allowed: {allowed})");
        }

        if (node is not YamlScalarNode { Value: { } raw })
        {
            throw top.Document.Error(ConfigCodes.WrongType, node,
                $"platform must be one of {allowed}, got a {ConfigSection.NodeKind(node)}.");
        }

        var text = raw.Trim();
        var digits = text.StartsWith("KL", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        if (int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            && Enum.IsDefined(typeof(Platform), number))
        {
            return ConfigValues.Set(top, node, (Platform)number);
        }

        throw top.Document.Error(ConfigCodes.InvalidValue, node, $"platform must be one of {allowed}, got '{raw}'.");
    }

    /// <summary>Returns 0 when percentage_16b is at least percentage; the value only lets <see cref="ConfigValues.Recover"/> run it.</summary>
    private static int CheckPercentageOrder(Located<double> percentage, Located<double> percentage16b)
    {
        if (percentage16b.Value >= percentage.Value)
        {
            return 0;
        }

        var p16 = percentage16b.Value.ToString(CultureInfo.InvariantCulture);
        var p8 = percentage.Value.ToString(CultureInfo.InvariantCulture);
        var defaultNote = percentage16b.IsSet ? "" : " (the default)";
        throw new KnqException(ConfigCodes.Percentage16bBelowPercentage, percentage16b.Location,
            $"percentage_16b{defaultNote} is {p16}, below percentage {p8}; the int16 range must clip no more than the int8 one, so set percentage_16b to at least {p8}.");
    }

    /// <summary>
    /// Reads the required <c>calibration</c> section. When it is missing or
    /// invalid, the error is recorded and an empty section is returned, so that
    /// <c>evaluation</c> and <c>inputs</c>, which inherit from it, are still checked.
    /// </summary>
    private static SampleSourceConfig ReadCalibration(ConfigSection top)
    {
        var empty = new SampleSourceConfig { Location = top.Document.DefaultLocation };
        if (!top.TryGet("calibration", out var key, out var node))
        {
            top.Document.AddError(MissingOrEmpty(top, "calibration",
                "add a calibration section with images: <glob> (or tensors: <glob>) naming the calibration samples, indented under it"));
            return empty;
        }

        return Section(top, "calibration", node, SampleSourceParser.CalibrationKeys) is { } section
            ? SampleSourceParser.ParseCalibration(section, key)
            : empty;
    }

    /// <summary>
    /// Returns the error for a required key that is absent (at the file's
    /// (1,1)) or written without a value (at the key).
    /// </summary>
    private static KnqException MissingOrEmpty(ConfigSection top, string key, string fix)
    {
        if (top.TryGetKey(key, out var keyNode))
        {
            return top.Document.Error(ConfigCodes.MissingKey, keyNode, $"{key} is empty; {fix}.");
        }

        return new KnqException(ConfigCodes.MissingKey, top.Document.DefaultLocation, $"{key} is missing; {fix}.");
    }

    private static SampleSourceConfig? ReadEvaluation(ConfigSection top, SampleSourceConfig calibration)
    {
        if (!top.TryGet("evaluation", out var key, out var node))
        {
            return null;
        }

        return Section(top, "evaluation", node, SampleSourceParser.EvaluationKeys) is { } section
            ? SampleSourceParser.ParseEvaluation(section, key, calibration)
            : null;
    }

    private static IReadOnlyDictionary<string, InputConfig> ReadInputs(ConfigSection top, SampleSourceConfig calibration)
    {
        var inputs = new Dictionary<string, InputConfig>(StringComparer.Ordinal);
        if (!top.TryGet("inputs", out _, out var node))
        {
            return inputs;
        }

        if (node is not YamlMappingNode mapping)
        {
            top.Document.AddError(top.Document.Error(ConfigCodes.NotAMapping, node,
                $"inputs must be a mapping of input names to settings, got a {ConfigSection.NodeKind(node)}."));
            return inputs;
        }

        foreach (var (nameNode, entryNode) in mapping.Children)
        {
            if (nameNode is not YamlScalarNode { Value: { Length: > 0 } name })
            {
                top.Document.AddError(top.Document.Error(ConfigCodes.WrongType, nameNode, "each key under inputs must be a model input name."));
                continue;
            }

            var path = $"inputs.{name}";
            if (Section(top, path, entryNode, SampleSourceParser.InputKeys) is not { } section)
            {
                continue;
            }

            inputs[name] = new InputConfig
            {
                Name = name,
                Location = top.Document.Locate(nameNode),
                Shape = ReadShape(section),
                Calibration = SampleSourceParser.ParseInputSource(section, nameNode, calibration),
            };
        }

        return inputs;
    }

    /// <summary>
    /// Reads <c>inputs.&lt;name&gt;.shape</c>: every dimension at least 1, and
    /// at most <see cref="MaxShapeElements"/> elements in one sample.
    /// </summary>
    private static Located<IReadOnlyList<long>?> ReadShape(ConfigSection section)
    {
        if (ConfigValues.ReadPositiveInts(section, SampleSourceParser.Shape, count: null) is not var (values, shapeNode))
        {
            return ConfigValues.Default<IReadOnlyList<long>?>(section, null);
        }

        var elements = values.Aggregate(BigInteger.One, (product, dimension) => product * dimension);
        if (elements > MaxShapeElements)
        {
            section.Document.AddError(section.Document.Error(ConfigCodes.OutOfRange, shapeNode,
                $"{section.KeyPath(SampleSourceParser.Shape)} {ConfigDocument.FlowText(shapeNode)} has {elements} elements in one sample, above the limit of {MaxShapeElements} (2^28, 1 GiB as float32); give the input's real size."));
            return ConfigValues.Default<IReadOnlyList<long>?>(section, null);
        }

        return ConfigValues.Set<IReadOnlyList<long>?>(section, shapeNode, values);
    }

    /// <summary>Reads <c>quan_config</c> as node name to the YAML text of its settings (flow style); their meaning is the engine's.</summary>
    private static Located<IReadOnlyDictionary<string, string>?> ReadQuanConfig(ConfigSection top)
    {
        if (!top.TryGet("quan_config", out _, out var node))
        {
            return ConfigValues.Default<IReadOnlyDictionary<string, string>?>(top, null);
        }

        if (node is not YamlMappingNode mapping)
        {
            top.Document.AddError(top.Document.Error(ConfigCodes.NotAMapping, node,
                $"quan_config must be a mapping of node names to bit-width settings, got a {ConfigSection.NodeKind(node)}."));
            return ConfigValues.Default<IReadOnlyDictionary<string, string>?>(top, null);
        }

        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (nameNode, valueNode) in mapping.Children)
        {
            if (nameNode is not YamlScalarNode { Value: { Length: > 0 } name })
            {
                top.Document.AddError(top.Document.Error(ConfigCodes.WrongType, nameNode, "each key under quan_config must be a node name."));
                continue;
            }

            entries[name] = ConfigDocument.FlowText(valueNode);
        }

        return ConfigValues.Set<IReadOnlyDictionary<string, string>?>(top, node, entries);
    }

    /// <summary>Returns the section at <paramref name="node"/>, or null after recording an error when it is not a mapping.</summary>
    private static ConfigSection? Section(ConfigSection parent, string path, YamlNode node, IReadOnlyList<string> keys)
    {
        if (node is not YamlMappingNode mapping)
        {
            parent.Document.AddError(parent.Document.Error(ConfigCodes.NotAMapping, node,
                $"{path} must be a mapping of keys to values, got a {ConfigSection.NodeKind(node)}; valid keys are: {ConfigSection.SortedList(keys)}."));
            return null;
        }

        return new ConfigSection(parent.Document, mapping, path, keys);
    }
}
