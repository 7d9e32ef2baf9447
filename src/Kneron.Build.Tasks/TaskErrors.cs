namespace Kneron.Build.Tasks;

/// <summary>
/// Every error the task itself reports (codes KNQ0700–KNQ0799), in one place
/// so that codes stay unique and messages stay consistent.
/// </summary>
internal static class TaskErrors
{
    public const string ToolCrashed = "KNQ0701";
    public const string ToolFailedSilently = "KNQ0702";
    public const string DotnetNotFound = "KNQ0703";
    public const string ToolNotFound = "KNQ0704";

    public static string ToolCrashedMessage(int exitCode, string lastLines) =>
        $"kneron-quant failed with exit code {exitCode} (expected 0, 1 or 2), which is a bug in kneron-quant. " +
        $"Last output lines:{Environment.NewLine}{lastLines}";

    public static string ToolFailedSilentlyMessage(int exitCode, string lastLines) =>
        $"kneron-quant exited with code {exitCode} but reported no error. Last output lines:{Environment.NewLine}{lastLines}";

    public const string DotnetNotFoundMessage =
        "The dotnet executable was not found in DOTNET_HOST_PATH or on PATH; install the .NET 10 runtime " +
        "or set DOTNET_HOST_PATH to the dotnet executable.";

    public static string ToolNotFoundMessage(string path) =>
        $"kneron-quant was not found at '{path}'. Restore the Kneron.Build package again, " +
        "or correct the KneronToolPath property or the KNERON_TOOL_PATH environment variable.";
}
