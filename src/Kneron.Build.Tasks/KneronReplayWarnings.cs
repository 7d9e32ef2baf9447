using Microsoft.Build.Framework;

namespace Kneron.Build.Tasks;

/// <summary>
/// Reports the warnings of a model's last analysis again when the build
/// skips the analysis as up to date. A no-op build then shows the same
/// warnings as the build that ran the analysis, and the IDE's Error List keeps them.
/// </summary>
/// <remarks>
/// <see cref="KneronAnalyze"/> writes the warnings to <c>&lt;name&gt;.warnings</c>
/// in the model's analysis folder, one canonical line each
/// (<c>path(line,col): warning KNQ0403: message</c>). Lines that do not parse
/// as a warning are ignored.
/// </remarks>
public sealed class KneronReplayWarnings : Microsoft.Build.Utilities.Task
{
    /// <summary>
    /// The <c>.warnings</c> files to report. Missing files are skipped. The
    /// optional <c>ModelItemSpec</c> metadata names the model in the message
    /// logged before its warnings.
    /// </summary>
    [Required]
    public ITaskItem[] WarningsFiles { get; set; } = Array.Empty<ITaskItem>();

    /// <inheritdoc />
    public override bool Execute()
    {
        foreach (var file in WarningsFiles)
        {
            var path = file.ItemSpec;
            if (!File.Exists(path))
            {
                continue;
            }

            var warnings = File.ReadAllLines(path)
                .Select(ToolDiagnostic.TryParse)
                .Where(diagnostic => diagnostic != null && !diagnostic.IsError)
                .ToList();
            if (warnings.Count == 0)
            {
                continue;
            }

            var model = file.GetMetadata("ModelItemSpec");
            Log.LogMessage(MessageImportance.Normal,
                $"{(model.Length > 0 ? model : path)} is up to date; repeating the warnings of its last analysis.");
            foreach (var warning in warnings)
            {
                Log.LogWarning(null, warning!.Code, null, warning.File, warning.Line, warning.Column, 0, 0, warning.Message);
            }
        }

        return !Log.HasLoggedErrors;
    }
}
