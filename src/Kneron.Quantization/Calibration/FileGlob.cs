namespace Kneron.Quantization.Calibration;

/// <summary>
/// Expands a path pattern with <c>*</c> and <c>?</c> (within one path segment)
/// and <c>**</c> (any number of folders, including none). A pattern without
/// wildcards is a plain file path. Hidden and system files and folders are
/// skipped by wildcards, as shells do; symbolic links to folders are not
/// followed by <c>**</c>, so a link loop cannot make the search endless.
/// </summary>
internal static class FileGlob
{
    private static readonly EnumerationOptions Options = new()
    {
        MatchType = MatchType.Simple,
        RecurseSubdirectories = false,
        IgnoreInaccessible = true,
    };

    /// <summary>
    /// Returns the full paths of the files <paramref name="pattern"/> matches,
    /// relative to <paramref name="baseDirectory"/>, in no particular order.
    /// Every folder the search listed (or looked into for a plain file) is
    /// added to <paramref name="searchedFolders"/>.
    /// </summary>
    /// <param name="searchRoot">The deepest folder named without wildcards, for error messages.</param>
    public static List<string> Match(string baseDirectory, string pattern, ISet<string> searchedFolders, out string searchRoot)
    {
        var full = Path.GetFullPath(Path.Combine(baseDirectory, pattern));
        var results = new List<string>();

        if (!HasWildcard(pattern))
        {
            searchRoot = Path.GetDirectoryName(full) ?? full;
            searchedFolders.Add(searchRoot);
            if (File.Exists(full))
            {
                results.Add(full);
            }

            return results;
        }

        var root = Path.GetPathRoot(full) ?? "";
        var segments = full[root.Length..].Split(SeparatorChars, StringSplitOptions.RemoveEmptyEntries);
        var firstWildcard = Array.FindIndex(segments, HasWildcard);
        searchRoot = Path.Combine(root, Path.Combine(segments[..firstWildcard]));
        if (Directory.Exists(searchRoot))
        {
            MatchFrom(searchRoot, segments, firstWildcard, results, searchedFolders);
        }
        else
        {
            searchedFolders.Add(searchRoot);
        }

        return results;
    }

    private static readonly char[] SeparatorChars = { Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar };

    private static bool HasWildcard(string segment) => segment.IndexOfAny(['*', '?']) >= 0;

    private static void MatchFrom(string folder, string[] segments, int index, List<string> results, ISet<string> searchedFolders)
    {
        var segment = segments[index];
        var isLast = index == segments.Length - 1;
        searchedFolders.Add(folder);

        if (segment == "**")
        {
            // A trailing ** means every file below the folder.
            if (isLast)
            {
                results.AddRange(Directory.EnumerateFiles(folder, "*", Options));
            }
            else
            {
                MatchFrom(folder, segments, index + 1, results, searchedFolders);
            }

            foreach (var child in Directory.EnumerateDirectories(folder, "*", Options))
            {
                if (!new DirectoryInfo(child).Attributes.HasFlag(FileAttributes.ReparsePoint))
                {
                    MatchFrom(child, segments, index, results, searchedFolders);
                }
            }

            return;
        }

        if (isLast)
        {
            if (HasWildcard(segment))
            {
                results.AddRange(Directory.EnumerateFiles(folder, segment, Options));
            }
            else if (File.Exists(Path.Combine(folder, segment)))
            {
                results.Add(Path.Combine(folder, segment));
            }

            return;
        }

        if (HasWildcard(segment))
        {
            foreach (var child in Directory.EnumerateDirectories(folder, segment, Options))
            {
                MatchFrom(child, segments, index + 1, results, searchedFolders);
            }
        }
        else if (Directory.Exists(Path.Combine(folder, segment)))
        {
            MatchFrom(Path.Combine(folder, segment), segments, index + 1, results, searchedFolders);
        }
    }
}
