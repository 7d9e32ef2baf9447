namespace Kneron.Build.Tasks;

/// <summary>Finds the known metadata name that a misspelled one was meant to be.</summary>
internal static class MetadataNames
{
    /// <summary>
    /// Edits (insertions, deletions, substitutions, swaps of two neighbouring
    /// letters) allowed between a name and the known name it suggests. It is 2
    /// for names of 6 letters or more and 1 for shorter ones, so that an
    /// unrelated short name such as <c>Lock</c> is not taken for <c>Link</c>.
    /// </summary>
    public static int MaxTypoDistance(string knownName) => knownName.Length >= 6 ? 2 : 1;

    /// <summary>
    /// Returns the known name closest to <paramref name="name"/> (compared
    /// ignoring case and underscores, so <c>snr_threshold</c> finds
    /// <c>SnrThreshold</c>) when it lies within <see cref="MaxTypoDistance"/>,
    /// else null.
    /// </summary>
    public static string? Closest(string name, IEnumerable<string> knownNames)
    {
        var normalized = Normalize(name);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var known in knownNames)
        {
            var distance = Distance(normalized, Normalize(known));
            if (distance <= MaxTypoDistance(known) && distance < bestDistance)
            {
                best = known;
                bestDistance = distance;
            }
        }

        return best;
    }

    private static string Normalize(string name) => name.Replace("_", "").ToLowerInvariant();

    /// <summary>Returns the optimal string alignment distance: Levenshtein distance with swaps of neighbouring letters counted as one edit.</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
