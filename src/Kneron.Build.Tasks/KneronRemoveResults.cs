using Microsoft.Build.Framework;

namespace Kneron.Build.Tasks;

/// <summary>
/// Deletes the results of a model's earlier analysis before it is analysed
/// again, so that a failed analysis leaves nothing a later build or the
/// application could take as current. Tries every file, even after one could
/// not be deleted, and reports those with one coded error (KNQ0801) that names
/// them, instead of one MSB3061 error each as the Delete task would.
/// </summary>
public sealed class KneronRemoveResults : Microsoft.Build.Utilities.Task
{
    /// <summary>
    /// The files to delete, in order. The targets list the copies in the
    /// output folder first, because those are what the application loads.
    /// Missing files are skipped.
    /// </summary>
    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The KneronModel item as the project declares it, for the message.</summary>
    [Required]
    public string ModelItemSpec { get; set; } = "";

    /// <inheritdoc />
    public override bool Execute()
    {
        var undeleted = new List<string>();
        string? firstReason = null;
        foreach (var file in Files.Select(item => item.GetMetadata("FullPath")))
        {
            try
            {
                if (File.Exists(file))
                {
                    File.Delete(file);
                }
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                undeleted.Add(file);
                firstReason ??= ex.Message;
            }
        }

        if (undeleted.Count > 0)
        {
            Log.LogError(null, TaskErrors.OutputNotWritable, null, undeleted[0], 0, 0, 0, 0,
                TaskErrors.ResultsNotRemovableMessage(ModelItemSpec, undeleted, firstReason!));
        }

        return !Log.HasLoggedErrors;
    }
}
