using Kneron.Quantization.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Kneron.Quantization.Config;

/// <summary>
/// Applies <c>key=value</c> overrides (the CLI's <c>--set</c>) to the parsed
/// YAML tree before validation, so that overridden values go through the same
/// checks as written ones. A dotted key (<c>calibration.max_samples=8</c>)
/// walks into sections, creating them when absent. Later overrides of the same
/// key win.
/// </summary>
internal static class ConfigOverrides
{
    public static void Apply(ConfigDocument document, IReadOnlyList<string> overrides)
    {
        var location = document.OverridesLocation;
        foreach (var entry in overrides)
        {
            var equals = entry.IndexOf('=');
            if (equals <= 0)
            {
                throw new KnqException(ConfigCodes.InvalidOverride, location,
                    $"override '{entry}' is not of the form key=value; write for example calibration.max_samples=8.");
            }

            var key = entry[..equals].Trim();
            var valueText = entry[(equals + 1)..].Trim();
            var segments = key.Split('.');
            if (segments.Any(s => s.Length == 0))
            {
                throw new KnqException(ConfigCodes.InvalidOverride, location,
                    $"override key '{key}' has an empty part; separate section and key names with single dots.");
            }

            var value = ParseValue(entry, valueText, location);
            document.MarkOverride(value, entry);
            Set(document, entry, segments, value, location);
        }
    }

    /// <summary>
    /// Turns the value text into a YAML node. Text that starts a YAML flow
    /// collection or a quoted string (<c>[</c>, <c>{</c>, quotes) is parsed as
    /// YAML; anything else is taken as plain text, so that a glob such as
    /// <c>*.png</c> is not read as a YAML alias.
    /// </summary>
    private static YamlNode ParseValue(string entry, string valueText, SourceLocation location)
    {
        if (valueText.Length == 0 || valueText[0] is not ('[' or '{' or '"' or '\''))
        {
            return new YamlScalarNode(valueText) { Style = ScalarStyle.Plain };
        }

        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(valueText));
            return stream.Documents.Count > 0 ? stream.Documents[0].RootNode : new YamlScalarNode("");
        }
        catch (YamlException ex)
        {
            throw new KnqException(ConfigCodes.InvalidOverride, location,
                $"the value of override '{entry}' is not valid YAML ({ex.Message}); quote it or fix its brackets.", ex);
        }
    }

    private static void Set(ConfigDocument document, string entry, string[] segments, YamlNode value, SourceLocation location)
    {
        var mapping = document.Root;
        for (var i = 0; i < segments.Length - 1; i++)
        {
            var keyNode = FindKey(mapping, segments[i]);
            if (keyNode is null)
            {
                var created = new YamlMappingNode();
                var newKey = new YamlScalarNode(segments[i]);
                document.MarkOverride(newKey, entry);
                document.MarkOverride(created, entry);
                mapping.Children.Add(newKey, created);
                mapping = created;
                continue;
            }

            var child = mapping.Children[keyNode];
            if (child is YamlMappingNode childMapping)
            {
                mapping = childMapping;
            }
            else if (ConfigSection.IsNull(child))
            {
                var created = new YamlMappingNode();
                document.MarkOverride(created, entry);
                mapping.Children[keyNode] = created;
                mapping = created;
            }
            else
            {
                var path = string.Join('.', segments[..(i + 1)]);
                throw new KnqException(ConfigCodes.InvalidOverride, location,
                    $"override '{string.Join('.', segments)}' cannot be applied because '{path}' is not a section; override '{path}' itself.");
            }
        }

        var last = segments[^1];
        var existing = FindKey(mapping, last);
        if (existing is not null)
        {
            mapping.Children[existing] = value;
            return;
        }

        var key = new YamlScalarNode(last);
        document.MarkOverride(key, entry);
        mapping.Children.Add(key, value);
    }

    private static YamlScalarNode? FindKey(YamlMappingNode mapping, string key) =>
        mapping.Children.Keys.OfType<YamlScalarNode>().FirstOrDefault(k => k.Value == key);
}
