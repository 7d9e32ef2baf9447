namespace Kneron.Quantization.Diagnostics;

/// <summary>Diagnostic codes of bit-width modes and platform rules (KNQ0500–KNQ0599).</summary>
public static class ModeCodes
{
    /// <summary>The config asks for a mode or range method this version does not implement yet.</summary>
    public const string NotSupportedYet = "KNQ0501";

    /// <summary>The platform does not support the bit width the config asks for (KL520: int8 only; KL720: no int4).</summary>
    public const string PlatformForbidsBitWidth = "KNQ0502";
}
