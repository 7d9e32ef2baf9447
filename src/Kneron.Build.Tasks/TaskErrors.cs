namespace Kneron.Build.Tasks;

/// <summary>
/// Every error and warning the tasks themselves report (codes KNQ0700–KNQ0799,
/// KNQ0201 for a missing model and KNQ0801 for a file they cannot write or
/// remove), in one place so that codes stay unique and messages stay consistent.
/// </summary>
internal static class TaskErrors
{
    public const string ToolCrashed = "KNQ0701";
    public const string ToolFailedSilently = "KNQ0702";
    public const string DotnetNotFound = "KNQ0703";
    public const string ToolNotFound = "KNQ0704";
    public const string ConfigNotFound = "KNQ0705";
    public const string DuplicateArtifactPath = "KNQ0706";
    public const string InvalidCopyToOutputDirectory = "KNQ0707";
    public const string MisspelledMetadata = "KNQ0708";

    // The code the tool also uses for a model file that does not exist.
    public const string ModelNotFound = "KNQ0201";

    // The file-system code the tool also uses for a file it cannot write or remove.
    public const string OutputNotWritable = "KNQ0801";

    public static string ToolCrashedMessage(int exitCode, string lastLines) =>
        $"kneron-quant failed with exit code {exitCode} (expected 0, 1 or 2), which is a bug in kneron-quant. " +
        $"Last output lines:{Environment.NewLine}{lastLines}";

    // Used when the tool reported its own coded error before crashing: that
    // error and the lines after it (the stack trace) are already in the log.
    public static string ToolCrashedAfterErrorMessage(int exitCode) =>
        $"kneron-quant failed with exit code {exitCode} (expected 0, 1 or 2) after reporting the error above, " +
        "which is a bug in kneron-quant. Its full output, with the stack trace, is in the build log at normal " +
        "verbosity (dotnet build -v:n).";

    public static string ToolFailedSilentlyMessage(int exitCode, string lastLines) =>
        $"kneron-quant exited with code {exitCode} but reported no error. Last output lines:{Environment.NewLine}{lastLines}";

    public const string DotnetNotFoundMessage =
        "The dotnet executable was not found in DOTNET_HOST_PATH or on PATH; install the .NET 10 runtime " +
        "or set DOTNET_HOST_PATH to the dotnet executable.";

    public static string ToolNotFoundMessage(string path) =>
        $"kneron-quant was not found at '{path}'. Restore the Kneron.Build package again, " +
        "or correct the KneronToolPath property or the KNERON_TOOL_PATH environment variable.";

    public static string ModelNotFoundMessage(string item, string model) =>
        $"KneronModel '{item}': the model file '{model}' was not found. Correct the item's Include path, " +
        "or copy the model there.";

    public static string ConfigNotFoundMessage(string item, string config, string defaultConfigName) =>
        $"KneronModel '{item}': the config '{config}' was not found. Create {defaultConfigName} beside the model, " +
        "or set the item's Config metadata to the path of an existing config.";

    // For a config named by the item's Config metadata, which the user wrote and may have mistyped.
    public static string DeclaredConfigNotFoundMessage(string item, string declaredConfig, string config) =>
        $"KneronModel '{item}': the config '{config}' (Config=\"{declaredConfig}\") was not found. " +
        $"Create {Path.GetFileName(config)} there, or correct the item's Config metadata.";

    public static string MisspelledMetadataMessage(string item, string name, string suggestion) =>
        $"KneronModel '{item}' has metadata '{name}', which Kneron.Build does not read; did you mean '{suggestion}'? " +
        $"Rename it to {suggestion}, or remove it.";

    public static string ResultsNotRemovableMessage(string item, IReadOnlyList<string> files, string reason) =>
        $"KneronModel '{item}': could not remove the results of its earlier analysis ({string.Join(", ", files.Select(f => $"'{f}'"))}): " +
        $"{reason} The model was not analysed again. Make the folder and the files writable, or delete them, then build again.";

    public static string DuplicateArtifactPathMessage(string firstItem, string secondItem, string artifactPath) =>
        firstItem == secondItem
            ? $"KneronModel '{secondItem}' is declared twice with the same artifact path '{artifactPath}'. " +
              "Remove one of the items, or set a distinct OutputName or Link on one of them."
            : $"KneronModel '{firstItem}' and KneronModel '{secondItem}' both write their artifacts to '{artifactPath}'. " +
              "Set a distinct OutputName or Link on one of them.";

    public static string WarningsFileNotWritableMessage(string path, string reason) =>
        $"Could not write the warnings file '{path}': {reason} Free disk space or make the folder writable, then build again.";

    public static string InvalidCopyToOutputDirectoryMessage(string item, string value) =>
        $"KneronModel '{item}' has CopyToOutputDirectory '{value}', which is not valid. " +
        "The allowed values are PreserveNewest, Always and Never.";
}
