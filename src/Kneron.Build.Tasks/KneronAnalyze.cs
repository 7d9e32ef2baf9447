using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Kneron.Build.Tasks;

/// <summary>
/// Runs <c>kneron-quant analyze</c> on one model as a child process and passes
/// its diagnostics on to MSBuild with file, line, column and code.
/// </summary>
/// <remarks>
/// The analysis loads ONNX Runtime (a native library) and may use gigabytes of
/// memory, so it never runs inside the MSBuild node. The tool exits with 0
/// when the model passed, 1 when an SNR is below the threshold and 2 on
/// invalid input or config. Any other exit code is a crash and becomes error
/// KNQ0701. Cancelling the build (Ctrl+C) kills the child process through
/// <see cref="ToolTask.Cancel"/>.
/// After a successful analysis the task writes the warnings it relayed to
/// <see cref="WarningsFile"/>, so that <see cref="KneronReplayWarnings"/> can
/// report them again in builds that skip the analysis as up to date.
/// </remarks>
public sealed class KneronAnalyze : ToolTask
{
    private const int RetainedOutputLines = 20;

    private readonly Queue<string> _lastOutputLines = new();
    private readonly List<ToolDiagnostic> _relayedWarnings = new();
    private string? _pendingStandardOutputLine;
    private string? _summaryLine;
    private string? _dotnetPath;

    /// <summary>Path of the ONNX model to analyse.</summary>
    [Required]
    public string Model { get; set; } = "";

    /// <summary>
    /// The KneronModel item as the project declares it (such as
    /// <c>models/face.onnx</c>), for messages; defaults to <see cref="Model"/>.
    /// </summary>
    public string? ModelItemSpec { get; set; }

    /// <summary>
    /// The item's <c>OutputName</c>, which names the artifacts in the output
    /// folder. The build's summary message shows it when it differs from the
    /// model's file name.
    /// </summary>
    public string? OutputName { get; set; }

    /// <summary>
    /// Where the build leaves the quantized model: its copy in the output
    /// folder, or the file in <see cref="OutputDirectory"/> when it is not
    /// copied. The build's summary message shows this path in place of the
    /// tool's own.
    /// </summary>
    public string? FinalQuantizedModel { get; set; }

    /// <summary>Path of the model's YAML quantization config.</summary>
    [Required]
    public string Config { get; set; } = "";

    /// <summary>Folder the tool writes the artifacts and the <c>.deps</c> file into.</summary>
    [Required]
    public string OutputDirectory { get; set; } = "";

    /// <summary>
    /// Path of kneron-quant: a <c>.dll</c> is run with <c>dotnet exec</c>, anything
    /// else is started directly.
    /// </summary>
    [Required]
    public string ToolAssembly { get; set; } = "";

    /// <summary>Overrides the config's <c>platform</c> key (for example <c>520</c>).</summary>
    public string? Platform { get; set; }

    /// <summary>Overrides the config's <c>snr_threshold</c> key, in dB.</summary>
    public string? SnrThreshold { get; set; }

    /// <summary>Overrides the config's <c>datapath_bitwidth_mode</c> key.</summary>
    public string? DatapathBitwidthMode { get; set; }

    /// <summary>Overrides the config's <c>weight_bitwidth_mode</c> key.</summary>
    public string? WeightBitwidthMode { get; set; }

    /// <summary>
    /// File that errors about the overridden values point at: the project file
    /// that declares the KneronModel item. MSBuild gives a task no line of an
    /// item, so such an error has the file only, and its message names the
    /// item and the metadata instead.
    /// </summary>
    public string? OverridesSource { get; set; }

    /// <summary>
    /// Folder of the results cache shared by builds (the <c>KneronCacheDir</c>
    /// property); empty means no cache unless <c>KNERON_CACHE_DIR</c> is set.
    /// </summary>
    public string? CacheDirectory { get; set; }

    /// <summary>
    /// File that receives the relayed warnings after a successful analysis,
    /// one canonical line each, and is empty when there were none. Nothing is
    /// written when this parameter is empty.
    /// </summary>
    public string? WarningsFile { get; set; }

    /// <summary>
    /// The dotnet executable; defaults to <c>DOTNET_HOST_PATH</c>, then the first
    /// <c>dotnet</c> on <c>PATH</c>.
    /// </summary>
    public string? DotnetHostPath { get; set; }

    /// <summary>The last line kneron-quant printed on standard output (its summary line), as the tool printed it.</summary>
    [Output]
    public string SummaryLine => _summaryLine ?? "";

    /// <summary>
    /// True once the task has run. The targets use it to tell an analysis from
    /// a skipped one: MSBuild sets no output-only parameter of a task in a
    /// target it skips as up to date.
    /// </summary>
    [Output]
    public bool Ran => true;

    /// <inheritdoc />
    protected override string ToolName => RunsThroughDotnet ? DotnetExecutableName : Path.GetFileName(ToolAssembly);

    // Diagnostics are parsed from both streams. Other standard-output lines are
    // progress and stay at low importance. Other standard-error lines, such as
    // a stack trace, are shown at normal verbosity.
    /// <inheritdoc />
    protected override MessageImportance StandardOutputLoggingImportance => MessageImportance.Low;

    /// <inheritdoc />
    protected override MessageImportance StandardErrorLoggingImportance => MessageImportance.Normal;

    private bool RunsThroughDotnet => ToolAssembly.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);

    private static string DotnetExecutableName =>
        Path.DirectorySeparatorChar == '\\' ? "dotnet.exe" : "dotnet";

    /// <inheritdoc />
    public override bool Execute()
    {
        // A warnings file left from an earlier analysis must not be taken for this one's.
        DeleteWarningsFile();

        if (!File.Exists(ToolAssembly))
        {
            Log.LogError(null, TaskErrors.ToolNotFound, null, null, 0, 0, 0, 0, TaskErrors.ToolNotFoundMessage(ToolAssembly));
            return false;
        }

        if (RunsThroughDotnet)
        {
            _dotnetPath = DotnetHost.Find(DotnetHostPath);
            if (_dotnetPath == null)
            {
                Log.LogError(null, TaskErrors.DotnetNotFound, null, null, 0, 0, 0, 0, TaskErrors.DotnetNotFoundMessage);
                return false;
            }
        }

        // ToolTask returns false without logging an error when the build was
        // cancelled and it killed the tool, so its result counts too.
        var toolSucceeded = base.Execute();

        if (_summaryLine != null && (ExitCode == 0 || ExitCode == 1))
        {
            Log.LogMessage(MessageImportance.Normal, DescribeItem(_summaryLine));
        }

        var succeeded = toolSucceeded && !Log.HasLoggedErrors;
        if (succeeded && !string.IsNullOrEmpty(WarningsFile))
        {
            // Written even when empty: the targets list it among the analysis
            // outputs, so a missing file means the analysis has to run again.
            succeeded = WriteWarningsFile(WarningsFile!);
        }

        return succeeded;
    }

    /// <summary>
    /// Rewrites the tool's summary line for the build log. The tool starts it
    /// with the model's file name and names the quantized model in the
    /// analysis folder, so two items of one model would print the same start.
    /// The build's line names the item, its OutputName when that differs from
    /// the file name, and the quantized model where the build leaves it.
    /// </summary>
    private string DescribeItem(string summary)
    {
        var fileName = Path.GetFileName(Model);
        var item = ModelItemSpec ?? Model;
        if (!string.IsNullOrEmpty(OutputName) && OutputName != Path.GetFileNameWithoutExtension(Model))
        {
            item += $" ({OutputName})";
        }

        if (summary.StartsWith(fileName + ": ", StringComparison.Ordinal))
        {
            summary = item + summary.Substring(fileName.Length);
        }

        // The tool prints the full path of the --output folder (DirectoryInfo.FullName), so a relative
        // OutputDirectory, or "/" in it on Windows, is made full here the same way.
        var toolPath = Path.Combine(Path.GetFullPath(TrimTrailingSeparator(OutputDirectory)), Path.GetFileNameWithoutExtension(Model) + ".quant.onnx");
        if (!string.IsNullOrEmpty(FinalQuantizedModel))
        {
            summary = summary.Replace(toolPath, FinalQuantizedModel);
        }

        return summary;
    }

    /// <summary>
    /// Writes the relayed warnings under a temporary name and moves it into
    /// place, so a full disk leaves no torn file for a later build to replay.
    /// A failed write is a coded error rather than a task crash.
    /// </summary>
    private bool WriteWarningsFile(string path)
    {
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            File.WriteAllLines(temporary, _relayedWarnings.Select(warning => warning.ToString()));

            // Execute deleted the old file at its start, and File.Move on netstandard2.0 cannot overwrite.
            if (File.Exists(path))
            {
                File.Delete(path);
            }

            File.Move(temporary, path);
            return true;
        }
        catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
        {
            Log.LogError(null, TaskErrors.OutputNotWritable, null, path, 0, 0, 0, 0, TaskErrors.WarningsFileNotWritableMessage(path, ex.Message));
            return false;
        }
        finally
        {
            TryDelete(temporary);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
        {
            // Reached only after a failed write, which is already reported, so a leftover temporary file changes nothing.
        }
    }

    /// <inheritdoc />
    protected override string GenerateFullPathToTool() =>
        _dotnetPath ?? Path.GetFullPath(ToolAssembly);

    /// <inheritdoc />
    protected override string GenerateCommandLineCommands()
    {
        var builder = new CommandLineBuilder(quoteHyphensOnCommandLine: false, useNewLineSeparator: false);
        if (RunsThroughDotnet)
        {
            // The SDK running the build may be newer than the tool's net10.0
            // with no 10.0 runtime installed; run on the newest runtime then.
            builder.AppendSwitch("exec --roll-forward Major");
            builder.AppendFileNameIfNotNull(Path.GetFullPath(ToolAssembly));
        }

        builder.AppendSwitch("analyze");
        builder.AppendFileNameIfNotNull(Model);
        builder.AppendSwitchIfNotNull("--config ", Config);
        builder.AppendSwitchIfNotNull("--output ", TrimTrailingSeparator(OutputDirectory));
        AppendOverride(builder, "platform", Platform);
        AppendOverride(builder, "snr_threshold", SnrThreshold);
        AppendOverride(builder, "datapath_bitwidth_mode", DatapathBitwidthMode);
        AppendOverride(builder, "weight_bitwidth_mode", WeightBitwidthMode);
        builder.AppendSwitchIfNotNull("--overrides-source ", OverridesSource);
        if (!string.IsNullOrEmpty(CacheDirectory))
        {
            builder.AppendSwitchIfNotNull("--cache-dir ", TrimTrailingSeparator(CacheDirectory!));
        }

        return builder.ToString();
    }

    // The command line is useful when a build misbehaves, but one line per
    // model at minimal verbosity is noise, so it is logged like Exec does.
    /// <inheritdoc />
    protected override void LogToolCommand(string message) =>
        Log.LogCommandLine(MessageImportance.Normal, message);

    /// <inheritdoc />
    protected override void LogEventsFromTextOutput(string singleLine, MessageImportance messageImportance)
    {
        Remember(singleLine);

        var diagnostic = ToolDiagnostic.TryParse(singleLine);
        if (diagnostic != null)
        {
            LogDiagnostic(diagnostic);
            return;
        }

        if (messageImportance != StandardOutputImportanceToUse)
        {
            Log.LogMessage(messageImportance, singleLine);
            return;
        }

        // Hold the latest standard-output line back: the last one is the
        // summary and is logged at normal importance once the tool has exited.
        if (_pendingStandardOutputLine != null)
        {
            Log.LogMessage(messageImportance, _pendingStandardOutputLine);
        }

        if (singleLine.Trim().Length > 0)
        {
            _pendingStandardOutputLine = singleLine;
            _summaryLine = singleLine;
        }
    }

    /// <inheritdoc />
    protected override bool HandleTaskExecutionErrors()
    {
        var lastLines = string.Join(Environment.NewLine, _lastOutputLines);
        if (ExitCode != 1 && ExitCode != 2)
        {
            // A crash the tool reported itself (KNQ0099) is already in the log
            // with its stack trace, so the output is not repeated here.
            var message = Log.HasLoggedErrors
                ? TaskErrors.ToolCrashedAfterErrorMessage(ExitCode)
                : TaskErrors.ToolCrashedMessage(ExitCode, lastLines);
            Log.LogError(null, TaskErrors.ToolCrashed, null, Model, 0, 0, 0, 0, message);
        }
        else if (!Log.HasLoggedErrors)
        {
            Log.LogError(null, TaskErrors.ToolFailedSilently, null, Model, 0, 0, 0, 0, TaskErrors.ToolFailedSilentlyMessage(ExitCode, lastLines));
        }

        return false;
    }

    // A quoted argument ending in a backslash ("C:\out\") would escape the
    // closing quote on Windows, so the folder is passed without it.
    private static string TrimTrailingSeparator(string path) =>
        path.Length > 1 ? path.TrimEnd('/', '\\') : path;

    private static void AppendOverride(CommandLineBuilder builder, string key, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            builder.AppendSwitchIfNotNull("--set ", key + "=" + value!.Trim());
        }
    }

    private void LogDiagnostic(ToolDiagnostic diagnostic)
    {
        diagnostic = NameOverriddenMetadata(diagnostic);
        if (diagnostic.IsError)
        {
            Log.LogError(null, diagnostic.Code, null, diagnostic.File, diagnostic.Line, diagnostic.Column, 0, 0, diagnostic.Message);
        }
        else
        {
            Log.LogWarning(null, diagnostic.Code, null, diagnostic.File, diagnostic.Line, diagnostic.Column, 0, 0, diagnostic.Message);
            _relayedWarnings.Add(diagnostic);
        }
    }

    /// <summary>
    /// Prefixes a diagnostic that points at <see cref="OverridesSource"/> with
    /// the item and the metadata behind it, because it carries no line there.
    /// Names the metadata whose config key the message mentions, else every
    /// metadata the item overrides.
    /// </summary>
    private ToolDiagnostic NameOverriddenMetadata(ToolDiagnostic diagnostic)
    {
        var overrides = Overrides().ToList();
        if (overrides.Count == 0 || diagnostic.File == null || diagnostic.Line > 0 || !IsOverridesSource(diagnostic.File))
        {
            return diagnostic;
        }

        var mentioned = overrides.Where(o => diagnostic.Message.IndexOf(o.ConfigKey, StringComparison.OrdinalIgnoreCase) >= 0).ToList();
        var named = string.Join(", ", (mentioned.Count > 0 ? mentioned : overrides).Select(o => $"{o.Metadata}={o.Value}"));
        return diagnostic.WithMessage($"KneronModel '{ModelItemSpec ?? Model}' metadata {named}: {diagnostic.Message}");
    }

    private IEnumerable<(string Metadata, string ConfigKey, string Value)> Overrides()
    {
        var all = new[]
        {
            ("Platform", "platform", Platform),
            ("SnrThreshold", "snr_threshold", SnrThreshold),
            ("DatapathBitwidthMode", "datapath_bitwidth_mode", DatapathBitwidthMode),
            ("WeightBitwidthMode", "weight_bitwidth_mode", WeightBitwidthMode),
        };
        return all
            .Where(o => !string.IsNullOrWhiteSpace(o.Item3))
            .Select(o => (o.Item1, o.Item2, o.Item3!.Trim()));
    }

    private bool IsOverridesSource(string file)
    {
        if (string.IsNullOrEmpty(OverridesSource))
        {
            return false;
        }

        try
        {
            return string.Equals(Path.GetFullPath(file), Path.GetFullPath(OverridesSource), StringComparison.OrdinalIgnoreCase);
        }
        catch (Exception ex) when (ex is ArgumentException || ex is NotSupportedException || ex is PathTooLongException)
        {
            // The origin of a diagnostic may be no path at all (such as "kneron-quant").
            return false;
        }
    }

    private void DeleteWarningsFile()
    {
        if (!string.IsNullOrEmpty(WarningsFile) && File.Exists(WarningsFile))
        {
            File.Delete(WarningsFile);
        }
    }

    private void Remember(string line)
    {
        _lastOutputLines.Enqueue(line);
        while (_lastOutputLines.Count > RetainedOutputLines)
        {
            _lastOutputLines.Dequeue();
        }
    }
}
