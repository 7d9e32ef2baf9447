using Kneron.Quantization.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace Kneron.Quantization.Config;

/// <summary>
/// The parsed YAML tree of one config file with the locations of its nodes,
/// and the errors found while reading it. Nodes that an override created or
/// replaced have no position in the file, so they are reported at the
/// override source instead, and their messages name the override.
/// </summary>
internal sealed class ConfigDocument
{
    /// <summary>Location of errors about <c>--set</c> values when no overrides source is given: the command line.</summary>
    public static readonly SourceLocation CommandLine = new("kneron-quant");

    private readonly Dictionary<YamlNode, string> _overrideEntries = new(ReferenceEqualityComparer.Instance);
    private readonly SourceLocation? _overridesSource;
    private readonly List<KnqException> _errors = new();

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

    /// <summary>Where errors about overrides are reported: the overrides source, else the command line.</summary>
    public SourceLocation OverridesLocation => _overridesSource ?? CommandLine;

    /// <summary>Errors recorded so far, in the order found.</summary>
    public IReadOnlyList<KnqException> Errors => _errors;

    /// <summary>Records an error and lets the reading go on, so that one run reports every independent error.</summary>
    public void AddError(KnqException error) => _errors.Add(error);

    /// <summary>Records <paramref name="node"/> and its descendants as set by the override <paramref name="entry"/> (<c>key=value</c>).</summary>
    public void MarkOverride(YamlNode node, string entry)
    {
        foreach (var item in node.AllNodes)
        {
            _overrideEntries[item] = entry;
        }
    }

    public SourceLocation Locate(YamlNode node)
    {
        if (_overrideEntries.ContainsKey(node))
        {
            return OverridesLocation;
        }

        return new SourceLocation(FilePath, (int)node.Start.Line, (int)node.Start.Column);
    }

    /// <summary>
    /// Returns the prefix that names the override behind an error about
    /// <paramref name="node"/>, such as <c>--set 'debug=yes': </c>; empty for
    /// a node written in the file.
    /// </summary>
    public string OverridePrefix(YamlNode node)
    {
        if (!_overrideEntries.TryGetValue(node, out var entry))
        {
            return "";
        }

        return _overridesSource is null ? $"--set '{entry}': " : $"override '{entry}': ";
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

    public KnqException Error(string code, YamlNode node, string message) =>
        new(code, Locate(node), OverridePrefix(node) + message);
}
