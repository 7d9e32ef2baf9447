using Kneron.Quantization.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Kneron.Quantization.Config;

/// <summary>
/// One YAML mapping of the config (the top level, <c>calibration</c>, an
/// <c>inputs</c> entry) with its valid keys. Creating it records an error for
/// each unknown key and each key that is not plain text, and leaves them out.
/// </summary>
internal sealed class ConfigSection
{
    private readonly Dictionary<string, (YamlScalarNode Key, YamlNode Value)> _entries = new(StringComparer.Ordinal);

    public ConfigSection(ConfigDocument document, YamlMappingNode mapping, string path, IReadOnlyList<string> validKeys)
    {
        Document = document;
        Mapping = mapping;
        Path = path;

        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key } scalarKey)
            {
                document.AddError(document.Error(ConfigCodes.WrongType, keyNode, $"{Describe("keys")} must be plain text, got a {NodeKind(keyNode)}."));
                continue;
            }

            if (!validKeys.Contains(key, StringComparer.Ordinal))
            {
                document.AddError(document.Error(ConfigCodes.UnknownKey, keyNode, UnknownKeyMessage(key, validKeys)));
                continue;
            }

            _entries[key] = (scalarKey, valueNode);
        }
    }

    public ConfigDocument Document { get; }

    public YamlMappingNode Mapping { get; }

    /// <summary>Dotted path of the section, empty for the top level.</summary>
    public string Path { get; }

    /// <summary>Returns the dotted name of <paramref name="key"/> in this section, as messages show it.</summary>
    public string KeyPath(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    /// <summary>Finds a key whose value is not null; an explicit null (<c>key:</c>, <c>~</c>) counts as absent, so the default applies.</summary>
    public bool TryGet(string key, out YamlScalarNode keyNode, out YamlNode value)
    {
        if (_entries.TryGetValue(key, out var entry) && !IsNull(entry.Value))
        {
            keyNode = entry.Key;
            value = entry.Value;
            return true;
        }

        keyNode = null!;
        value = null!;
        return false;
    }

    public bool Has(string key) => TryGet(key, out _, out _);

    /// <summary>Finds a key whatever its value, so that a required key written without a value (<c>calibration:</c>) can be told from a missing one.</summary>
    public bool TryGetKey(string key, out YamlScalarNode keyNode)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            keyNode = entry.Key;
            return true;
        }

        keyNode = null!;
        return false;
    }

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } scalar
        && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL";

    public static string NodeKind(YamlNode node) => node switch
    {
        YamlMappingNode => "mapping",
        YamlSequenceNode => "list",
        YamlScalarNode scalar when scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted => "quoted text",
        _ => "value",
    };

    private string Describe(string noun) => Path.Length == 0 ? $"top-level {noun}" : $"{noun} of '{Path}'";

    private string UnknownKeyMessage(string key, IReadOnlyList<string> validKeys)
    {
        var where = Path.Length == 0 ? "" : $" in '{Path}'";
        var suggestion = KeySuggestion.Nearest(key, validKeys);
        if (suggestion is not null)
        {
            return $"unknown key '{key}'{where}; did you mean '{suggestion}'?";
        }

        return $"unknown key '{key}'{where}; valid keys are: {SortedList(validKeys)}.";
    }

    /// <summary>Returns the keys in ordinal order, comma-separated, as error messages list them.</summary>
    public static string SortedList(IEnumerable<string> keys) => string.Join(", ", keys.Order(StringComparer.Ordinal));
}

/// <summary>Suggests the valid key nearest to a misspelt one by Levenshtein distance.</summary>
internal static class KeySuggestion
{
    /// <summary>
    /// Returns the nearest candidate, or null when none is close: at most 2
    /// edits, or a third of the key's length for long keys, so that a
    /// suggestion is a likely typo and not an unrelated key.
    /// </summary>
    public static string? Nearest(string key, IEnumerable<string> candidates)
    {
        var maxDistance = Math.Max(2, key.Length / 3);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var distance = Levenshtein(key.ToLowerInvariant(), candidate);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        return bestDistance <= maxDistance ? best : null;
    }

    public static int Levenshtein(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
