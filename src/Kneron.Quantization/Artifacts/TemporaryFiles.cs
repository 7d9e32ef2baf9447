using System.Collections.Concurrent;

namespace Kneron.Quantization.Artifacts;

/// <summary>
/// The temporary files this process is writing beside its artifacts and in
/// the results cache. A handler for Ctrl+C or SIGTERM deletes them with
/// <see cref="DeleteAll"/> before the process ends, so an interrupted run
/// leaves no <c>.tmp</c> file behind. A file leaves the set when it is moved
/// into place or deleted.
/// </summary>
public static class TemporaryFiles
{
    private static readonly ConcurrentDictionary<string, bool> Tracked = new(StringComparer.Ordinal);

    /// <summary>
    /// Returns a new name beside <paramref name="path"/> that no other run
    /// uses (the process id and a GUID), tracked until <see cref="Release"/>.
    /// </summary>
    public static string Create(string path)
    {
        var name = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        Tracked[name] = true;
        return name;
    }

    /// <summary>Stops tracking <paramref name="name"/>, once it was moved into place or deleted.</summary>
    public static void Release(string name) => Tracked.TryRemove(name, out _);

    /// <summary>
    /// Deletes every tracked file or folder. Errors are ignored, because the
    /// process is ending and has nowhere left to report them.
    /// </summary>
    public static void DeleteAll()
    {
        foreach (var name in Tracked.Keys)
        {
            try
            {
                if (Directory.Exists(name))
                {
                    Directory.Delete(name, recursive: true);
                }
                else
                {
                    File.Delete(name);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Left for the user: the name ends in .tmp and no build reads it.
            }

            Release(name);
        }
    }
}
