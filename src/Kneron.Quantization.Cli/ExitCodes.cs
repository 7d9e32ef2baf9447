namespace Kneron.Quantization.Cli;

/// <summary>Exit codes of <c>kneron-quant</c>; the build task depends on them.</summary>
public static class ExitCodes
{
    /// <summary>Analysed, and every output meets the SNR threshold (or <c>on_low_snr: warning</c>).</summary>
    public const int Passed = 0;

    /// <summary>Analysed, and an output's SNR is below the threshold.</summary>
    public const int BelowThreshold = 1;

    /// <summary>Invalid input: command line, config, model or calibration data.</summary>
    public const int InvalidInput = 2;

    /// <summary>An internal failure (a bug).</summary>
    public const int InternalError = 3;
}
