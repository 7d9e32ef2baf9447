using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;

namespace Kneron.Quantization.Planning;

/// <summary>
/// The bit-width request of a config after validation: the datapath and
/// weight modes and the widths of the keys that are not per layer.
/// </summary>
public sealed record ModeRequest(BitwidthMode Datapath, BitwidthMode Weight, BitWidth ModelIn, BitWidth ModelOut, BitWidth CpuNode, BitWidth ConstIn)
{
    public bool UsesMixBw => Datapath == BitwidthMode.MixBw || Weight == BitwidthMode.MixBw;

    public string Name => ModeResolver.ModeName(Datapath) + "/" + ModeResolver.ModeName(Weight);
}

/// <summary>
/// Checks the config's bit-width keys against the platform and the mode
/// rules, and turns them into a <see cref="ModeRequest"/>:
/// KL520 runs int8 only; KL720 has no int4; <c>quan_config</c> is for KL730
/// only; mixbw pairs only as datapath mixbw with weight int16 or mixbw, or
/// datapath int16 with weight mixbw; with mixbw, model input, model output
/// and CPU nodes run in int16, and another value written in the config is
/// ignored with a warning.
/// </summary>
public static class ModeResolver
{
    public static ModeRequest Resolve(QuantConfig config, IDiagnosticSink diagnostics)
    {
        if (config.DatapathRangeMethod.Value == RangeMethod.Mmse)
        {
            throw new KnqException(ModeCodes.NotSupportedYet, config.DatapathRangeMethod.Location,
                "datapath_range_method 'mmse' is not supported yet. Use 'percentage' (with percentage: 1.0 for detection models) or 'minmax'.");
        }

        var platform = config.Platform.Value;
        var datapath = config.DatapathBitwidthMode;
        var weight = config.WeightBitwidthMode;

        if (config.QuanConfig.Value is { Count: > 0 } && platform != Platform.KL730)
        {
            throw new KnqException(ModeCodes.QuanConfigNotSupported, RuleLocation(config.QuanConfig.Location, config.Platform.Location),
                $"quan_config (per-node bit widths) is supported on KL730 only, not on {platform}. Remove it, or set platform: 730.");
        }

        CheckMode(config.Platform, datapath, "datapath_bitwidth_mode");
        CheckMode(config.Platform, weight, "weight_bitwidth_mode");
        CheckMixBwPair(datapath, weight);

        var modelIn = config.ModelInBitwidthMode.Value;
        var modelOut = config.ModelOutBitwidthMode.Value;
        var cpuNode = config.CpuNodeBitwidthMode.Value;
        if (datapath.Value == BitwidthMode.MixBw || weight.Value == BitwidthMode.MixBw)
        {
            modelIn = ForceInt16(config.ModelInBitwidthMode, "model_in_bitwidth_mode", diagnostics);
            modelOut = ForceInt16(config.ModelOutBitwidthMode, "model_out_bitwidth_mode", diagnostics);
            cpuNode = ForceInt16(config.CpuNodeBitwidthMode, "cpu_node_bitwidth_mode", diagnostics);
        }

        CheckWidth(config.Platform, config.ModelInBitwidthMode.Location, "model_in_bitwidth_mode", modelIn);
        CheckWidth(config.Platform, config.ModelOutBitwidthMode.Location, "model_out_bitwidth_mode", modelOut);
        CheckWidth(config.Platform, config.CpuNodeBitwidthMode.Location, "cpu_node_bitwidth_mode", cpuNode);

        // KL520 has no 16-bit path at all, so its constants follow the datapath rather than the int16 default.
        var constIn = config.ConstInBitwidthMode.Value;
        if (platform == Platform.KL520 && constIn == BitWidth.Int16)
        {
            if (config.ConstInBitwidthMode.IsSet)
            {
                CheckWidth(config.Platform, config.ConstInBitwidthMode.Location, "const_in_bitwidth_mode", constIn);
            }

            constIn = BitWidth.Int8;
        }

        return new ModeRequest(datapath.Value, weight.Value, modelIn, modelOut, cpuNode, constIn);
    }

    /// <summary>The widths a platform's NPU runs: KL520 int8 only, KL720 int8 and int16, the others also int4 weights.</summary>
    public static IReadOnlyList<BitWidth> AllowedWidths(Platform platform) => platform switch
    {
        Platform.KL520 => new[] { BitWidth.Int8 },
        Platform.KL720 => new[] { BitWidth.Int8, BitWidth.Int16 },
        _ => new[] { BitWidth.Int4, BitWidth.Int8, BitWidth.Int16 },
    };

    /// <summary>Spells a mode as the YAML does.</summary>
    public static string ModeName(BitwidthMode mode) => mode switch
    {
        BitwidthMode.Int4 => "int4",
        BitwidthMode.Int8 => "int8",
        BitwidthMode.Int16 => "int16",
        BitwidthMode.MixLight => "mix light",
        BitwidthMode.MixBalance => "mix balance",
        BitwidthMode.MixBw => "mixbw",
        _ => "auto",
    };

    /// <summary>Rejects a mode that needs a width the platform lacks: every mode but int8 and int4 uses int16.</summary>
    private static void CheckMode(Located<Platform> platformKey, Located<BitwidthMode> mode, string key)
    {
        var platform = platformKey.Value;
        var allowed = AllowedWidths(platform);
        var needs = mode.Value switch
        {
            BitwidthMode.Int8 => BitWidth.Int8,
            BitwidthMode.Int4 => BitWidth.Int4,
            BitwidthMode.Auto => BitWidth.Int8,
            _ => BitWidth.Int16,
        };

        if (!allowed.Contains(needs))
        {
            var modes = platform switch
            {
                Platform.KL520 => "int8",
                Platform.KL720 => "int8, int16, mix light, mix balance, mixbw",
                _ => "int4 (weights), int8, int16, mix light, mix balance, mixbw",
            };
            throw new KnqException(ModeCodes.PlatformForbidsBitWidth, RuleLocation(mode.Location, platformKey.Location),
                $"{key} '{ModeName(mode.Value)}' is not supported on {platform}, which has no int{(int)needs} path; it allows {modes}{(key.StartsWith("datapath") ? ", auto" : "")}.");
        }
    }

    /// <summary>
    /// Checks the mixbw pairing. The error points at the key that breaks it,
    /// or at the mixbw key when the other one was left at its default.
    /// </summary>
    private static void CheckMixBwPair(Located<BitwidthMode> datapath, Located<BitwidthMode> weight)
    {
        if (datapath.Value == BitwidthMode.MixBw && weight.Value is not (BitwidthMode.Int16 or BitwidthMode.MixBw))
        {
            throw new KnqException(ModeCodes.InvalidMixBwCombination, RuleLocation(weight.IsSet ? weight.Location : datapath.Location, datapath.Location),
                $"datapath_bitwidth_mode 'mixbw' needs weight_bitwidth_mode 'int16' (rank datapath widths only) or 'mixbw' (rank both), got '{ModeName(weight.Value)}'"
                + (weight.IsSet ? "." : " (the default). Add weight_bitwidth_mode: int16 or weight_bitwidth_mode: mixbw."));
        }

        if (weight.Value == BitwidthMode.MixBw && datapath.Value is not (BitwidthMode.Int16 or BitwidthMode.MixBw))
        {
            throw new KnqException(ModeCodes.InvalidMixBwCombination, RuleLocation(datapath.IsSet ? datapath.Location : weight.Location, weight.Location),
                $"weight_bitwidth_mode 'mixbw' needs datapath_bitwidth_mode 'int16' (rank weight widths only) or 'mixbw' (rank both), got '{ModeName(datapath.Value)}'"
                + (datapath.IsSet ? "." : " (the default). Add datapath_bitwidth_mode: int16 or datapath_bitwidth_mode: mixbw."));
        }

        // auto picks the weight widths of each mode it tries; an explicit int8 (the default) is harmless.
        if (datapath.Value == BitwidthMode.Auto && weight.IsSet && weight.Value != BitwidthMode.Int8)
        {
            throw new KnqException(ModeCodes.InvalidMixBwCombination, RuleLocation(weight.Location, datapath.Location),
                $"datapath_bitwidth_mode 'auto' chooses the weight widths too, so weight_bitwidth_mode '{ModeName(weight.Value)}' cannot apply; remove weight_bitwidth_mode.");
        }
    }

    private static BitWidth ForceInt16(Located<BitWidth> key, string name, IDiagnosticSink diagnostics)
    {
        if (key.IsSet && key.Value != BitWidth.Int16)
        {
            diagnostics.Report(new Diagnostic(ModeCodes.MixBwForcesInt16, DiagnosticSeverity.Warning, key.Location,
                $"{name} is always int16 with mixbw; the value 'int{(int)key.Value}' is ignored. Remove the key to silence this warning."));
        }

        return BitWidth.Int16;
    }

    private static void CheckWidth(Located<Platform> platformKey, SourceLocation location, string key, BitWidth bits)
    {
        var platform = platformKey.Value;
        var allowed = AllowedWidths(platform).Where(b => b != BitWidth.Int4).ToArray();
        if (!allowed.Contains(bits))
        {
            var names = string.Join(", ", allowed.Select(b => "int" + (int)b));
            throw new KnqException(ModeCodes.PlatformForbidsBitWidth, RuleLocation(location, platformKey.Location),
                $"{key} 'int{(int)bits}' is not supported on {platform}; it allows {names}.");
        }
    }

    /// <summary>
    /// Returns where an error about a rule between two values points: at
    /// <paramref name="other"/> when only that value came from an override
    /// (<c>--set</c>, or item metadata in a build), else at <paramref name="key"/>.
    /// A config that is valid on its own is made invalid by the override,
    /// so the error points at the override's source, which names it.
    /// </summary>
    private static SourceLocation RuleLocation(SourceLocation key, SourceLocation other) =>
        IsOverride(other) && !IsOverride(key) ? other : key;

    // Only an override's source (a project file, or the command line) has no
    // line. A value written in the file has one, and a default is at (1,1).
    private static bool IsOverride(SourceLocation location) => location.Line == 0;
}
