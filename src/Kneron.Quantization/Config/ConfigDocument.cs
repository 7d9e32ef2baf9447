using Kneron.Quantization.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace Kneron.Quantization.Config;

/// <summary>
/// The parsed YAML tree of one config file with the locations of its nodes.
/// Nodes that an override created or replaced have no position in the file,
/// so they are reported at the override source instead.
/// </summary>
internal sealed class ConfigDocument
{
    private readonly Dictionary<YamlNode, string> _overrideNodes = new(ReferenceEqualityComparer.Instance);
    private readonly SourceLocation? _overridesSource;

    public ConfigDocument(string filePath, string text, YamlMappingNode root, SourceLocation? overridesSource)
    {
        FilePath = filePath;
        Text = text;
        Root = root;
        _overridesSource = overridesSource;
    }

    public string FilePath { get; }

    /// <summary>The file's text without the byte-order mark; YAML mark indexes point into it.</summary>
    public string Text { get; }

    public YamlMappingNode Root { get; }

    /// <summary>Location of a value that the config does not set: the file's (1,1).</summary>
    public SourceLocation DefaultLocation => new(FilePath, 1, 1);

    /// <summary>Records <paramref name="node"/> and its descendants as coming from an override whose value text is <paramref name="rawText"/>.</summary>
    public void MarkOverride(YamlNode node, string rawText)
    {
        _overrideNodes[node] = rawText;
        foreach (var child in node.AllNodes)
        {
            _overrideNodes.TryAdd(child, child is YamlScalarNode scalar ? scalar.Value ?? "" : rawText);
        }
    }

    public bool IsOverride(YamlNode node) => _overrideNodes.ContainsKey(node);

    public SourceLocation Locate(YamlNode node)
    {
        if (_overrideNodes.ContainsKey(node))
        {
            return _overridesSource ?? DefaultLocation;
        }

        return new SourceLocation(FilePath, (int)node.Start.Line, (int)node.Start.Column);
    }

    /// <summary>Returns the YAML text that wrote <paramref name="node"/>: a scalar's value, or the source slice of a sequence or mapping.</summary>
    public string RawText(YamlNode node)
    {
        if (node is YamlScalarNode scalar)
        {
            return scalar.Value ?? "";
        }

        if (_overrideNodes.TryGetValue(node, out var raw))
        {
            return raw;
        }

        var start = (int)node.Start.Index;
        var end = (int)node.End.Index;
        return start >= 0 && end <= Text.Length && end > start ? Text[start..end].Trim() : "";
    }

    public KnqException Error(string code, YamlNode node, string message) => new(code, Locate(node), message);
}
