namespace Kneron.Quantization.Diagnostics;

/// <summary>Diagnostic codes of bit-width modes and platform rules (KNQ0500–KNQ0599).</summary>
public static class ModeCodes
{
    /// <summary>The config requests a range method this version does not implement yet.</summary>
    public const string NotSupportedYet = "KNQ0501";

    /// <summary>The platform does not support the bit width the config requests (KL520: int8 only; KL720: no int4).</summary>
    public const string PlatformForbidsBitWidth = "KNQ0502";

    /// <summary>mixbw is paired with a mode it cannot rank with; or auto with a weight mode.</summary>
    public const string InvalidMixBwCombination = "KNQ0503";

    /// <summary>Warning: with mixbw, model input, model output and CPU node widths are int16 whatever the config sets.</summary>
    public const string MixBwForcesInt16 = "KNQ0504";

    /// <summary><c>quan_config</c> is set on a platform other than KL730.</summary>
    public const string QuanConfigNotSupported = "KNQ0505";

    /// <summary>A <c>quan_config</c> entry names no node of the model or sets an invalid value.</summary>
    public const string InvalidQuanConfig = "KNQ0506";

    /// <summary>With <c>datapath_bitwidth_mode: auto</c> or a sweep, no mode the platform allows meets <c>snr_threshold</c>.</summary>
    public const string NoModeMeetsThreshold = "KNQ0507";

    /// <summary>Warning: a 16-bit datapath mode leaves the CPU nodes at the default <c>cpu_node_bitwidth_mode: int8</c>.</summary>
    public const string CpuNodesAtEightBits = "KNQ0508";
}
