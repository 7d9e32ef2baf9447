namespace Kneron.Quantization.Diagnostics;

/// <summary>Diagnostic codes of the command line and general failures (KNQ0001–KNQ0099).</summary>
public static class GeneralCodes
{
    /// <summary>The command line is invalid (unknown option, missing argument).</summary>
    public const string InvalidCommandLine = "KNQ0001";

    /// <summary>A <c>--set</c> value is not of the form <c>key=value</c>.</summary>
    public const string InvalidOverride = "KNQ0002";

    /// <summary>An unexpected internal failure: a bug to report, with the stack trace printed after it.</summary>
    public const string InternalError = "KNQ0099";
}
