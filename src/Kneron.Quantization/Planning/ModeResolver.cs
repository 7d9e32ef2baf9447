using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;

namespace Kneron.Quantization.Planning;

/// <summary>
/// Turns the config's bit-width keys into the widths of one run and checks
/// them against the platform: KL520 runs int8 only, KL720 has no int4, and
/// the others take int4, int8 and int16.
/// </summary>
public static class ModeResolver
{
    public static BitwidthSettings Resolve(QuantConfig config)
    {
        if (config.DatapathRangeMethod.Value == RangeMethod.Mmse)
        {
            throw new KnqException(ModeCodes.NotSupportedYet, config.DatapathRangeMethod.Location,
                "datapath_range_method 'mmse' is not supported yet. Use 'percentage' (with percentage: 1.0 for detection models) or 'minmax'.");
        }

        var datapath = FixedWidth(config.DatapathBitwidthMode, "datapath_bitwidth_mode");
        var weight = FixedWidth(config.WeightBitwidthMode, "weight_bitwidth_mode");

        var platform = config.Platform.Value;
        CheckPlatform(platform, config.DatapathBitwidthMode.Location, "datapath_bitwidth_mode", datapath);
        CheckPlatform(platform, config.WeightBitwidthMode.Location, "weight_bitwidth_mode", weight);
        CheckPlatform(platform, config.ModelInBitwidthMode.Location, "model_in_bitwidth_mode", config.ModelInBitwidthMode.Value);
        CheckPlatform(platform, config.ModelOutBitwidthMode.Location, "model_out_bitwidth_mode", config.ModelOutBitwidthMode.Value);
        CheckPlatform(platform, config.CpuNodeBitwidthMode.Location, "cpu_node_bitwidth_mode", config.CpuNodeBitwidthMode.Value);

        // KL520 has no 16-bit path at all, so its constants follow the datapath rather than the int16 default.
        var constIn = config.ConstInBitwidthMode.Value;
        if (platform == Platform.KL520 && constIn == BitWidth.Int16)
        {
            if (config.ConstInBitwidthMode.IsSet)
            {
                CheckPlatform(platform, config.ConstInBitwidthMode.Location, "const_in_bitwidth_mode", constIn);
            }

            constIn = BitWidth.Int8;
        }

        return new BitwidthSettings(datapath, weight, config.ModelInBitwidthMode.Value, config.ModelOutBitwidthMode.Value,
            config.CpuNodeBitwidthMode.Value, constIn);
    }

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

    private static BitWidth FixedWidth(Located<BitwidthMode> mode, string key) => mode.Value switch
    {
        BitwidthMode.Int4 => BitWidth.Int4,
        BitwidthMode.Int8 => BitWidth.Int8,
        BitwidthMode.Int16 => BitWidth.Int16,
        // TODO: mix light, mix balance, mixbw and auto need the per-node planning of the modes work.
        _ => throw new KnqException(ModeCodes.NotSupportedYet, mode.Location,
            $"{key} '{ModeName(mode.Value)}' is not supported yet. Use 'int8' or 'int16'."),
    };

    private static void CheckPlatform(Platform platform, Diagnostics.SourceLocation location, string key, BitWidth bits)
    {
        var allowed = platform switch
        {
            Platform.KL520 => new[] { BitWidth.Int8 },
            Platform.KL720 => new[] { BitWidth.Int8, BitWidth.Int16 },
            _ => new[] { BitWidth.Int4, BitWidth.Int8, BitWidth.Int16 },
        };

        if (!allowed.Contains(bits))
        {
            var names = string.Join(", ", allowed.Select(b => "int" + (int)b));
            throw new KnqException(ModeCodes.PlatformForbidsBitWidth, location,
                $"{key} 'int{(int)bits}' is not supported on {platform}; it allows {names}.");
        }
    }
}
