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
    private readonly HashSet<YamlNode> _overrideNodes = new(ReferenceEqualityComparer.Instance);
    private readonly SourceLocation? _overridesSource;

    public ConfigDocument(string filePath, YamlMappingNode root, SourceLocation? overridesSource)
    {
        FilePath = filePath;
        Root = root;
        _overridesSource = overridesSource;
    }

    public string FilePath { get; }

    public YamlMappingNode Root { get; }

    /// <summary>Location of a value that the config does not set: the file's (1,1).</summary>
    public SourceLocation DefaultLocation => new(FilePath, 1, 1);

    /// <summary>Records <paramref name="node"/> and its descendants as coming from an override.</summary>
    public void MarkOverride(YamlNode node)
    {
        foreach (var item in node.AllNodes)
        {
            _overrideNodes.Add(item);
        }
    }

    public SourceLocation Locate(YamlNode node)
    {
        if (_overrideNodes.Contains(node))
        {
            return _overridesSource ?? DefaultLocation;
        }

        return new SourceLocation(FilePath, (int)node.Start.Line, (int)node.Start.Column);
    }

    /// <summary>
    /// Returns YAML text for <paramref name="node"/>: a scalar's value as is,
    /// sequences and mappings in flow style (<c>[a, b]</c>, <c>{k: v}</c>).
    /// </summary>
    public static string FlowText(YamlNode node) => node switch
    {
        YamlScalarNode scalar => scalar.Value ?? "",
        YamlSequenceNode sequence => "[" + string.Join(", ", sequence.Children.Select(FlowText)) + "]",
        YamlMappingNode mapping => "{" + string.Join(", ", mapping.Children.Select(e => $"{FlowText(e.Key)}: {FlowText(e.Value)}")) + "}",
        _ => "",
    };

    public KnqException Error(string code, YamlNode node, string message) => new(code, Locate(node), message);
}
