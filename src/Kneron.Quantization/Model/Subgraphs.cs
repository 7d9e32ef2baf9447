using Onnx;

namespace Kneron.Quantization.Model;

/// <summary>
/// The graphs held in node attributes (the branches of If, the bodies of Loop
/// and Scan) and the outer-scope tensors they read. ONNX lets a subgraph read
/// any tensor of an enclosing graph by name without listing it as a node
/// input, so these references are invisible in <see cref="NodeProto.Input"/>.
/// </summary>
public static class Subgraphs
{
    /// <summary>Returns the graphs in the node's attributes; none for a node without control flow.</summary>
    public static IEnumerable<GraphProto> Of(NodeProto node) =>
        node.Attribute.SelectMany(a => a.G is null ? a.Graphs : a.Graphs.Prepend(a.G));

    public static bool HasSubgraphs(NodeProto node) => node.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0);

    /// <summary>
    /// Returns the names the node's subgraphs (and the subgraphs nested in them)
    /// read from the graph that contains the node: every name used as an input
    /// or output that no enclosing subgraph defines as an input, initializer or node output.
    /// </summary>
    public static IReadOnlySet<string> OuterScopeInputs(NodeProto node)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var graph in Of(node))
        {
            CollectOuterScopeInputs(graph, names);
        }

        return names;
    }

    /// <summary>
    /// Makes the node's subgraphs read <paramref name="replacement"/> wherever they
    /// read the outer tensor <paramref name="name"/>. A subgraph that defines a
    /// value of that name itself is left alone, with everything nested in it.
    /// </summary>
    public static void RenameOuterScopeInput(NodeProto node, string name, string replacement)
    {
        foreach (var graph in Of(node))
        {
            RenameIn(graph, name, replacement);
        }
    }

    /// <summary>Returns every tensor and node name used anywhere in the node's subgraphs, so new names can avoid them.</summary>
    public static IEnumerable<string> Names(NodeProto node) =>
        Of(node).SelectMany(graph => graph.Node
            .SelectMany(n => n.Input.Concat(n.Output).Append(n.Name).Concat(Names(n)))
            .Concat(graph.Initializer.Select(t => t.Name))
            .Concat(graph.Input.Select(i => i.Name))
            .Concat(graph.Output.Select(o => o.Name)));

    private static HashSet<string> Defined(GraphProto graph)
    {
        var defined = new HashSet<string>(StringComparer.Ordinal);
        defined.UnionWith(graph.Input.Select(i => i.Name));
        defined.UnionWith(graph.Initializer.Select(t => t.Name));
        defined.UnionWith(graph.SparseInitializer.Where(s => s.Values is not null).Select(s => s.Values.Name));
        defined.UnionWith(graph.Node.SelectMany(n => n.Output).Where(o => o.Length > 0));
        return defined;
    }

    private static void CollectOuterScopeInputs(GraphProto graph, HashSet<string> names)
    {
        var defined = Defined(graph);
        var used = graph.Node
            .SelectMany(n => n.Input.Concat(OuterScopeInputs(n)))
            .Concat(graph.Output.Select(o => o.Name))
            .Where(name => name.Length > 0 && !defined.Contains(name));
        names.UnionWith(used);
    }

    private static void RenameIn(GraphProto graph, string name, string replacement)
    {
        if (Defined(graph).Contains(name))
        {
            return;
        }

        foreach (var node in graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == name)
                {
                    node.Input[i] = replacement;
                }
            }

            RenameOuterScopeInput(node, name, replacement);
        }

        foreach (var output in graph.Output.Where(o => o.Name == name))
        {
            output.Name = replacement;
        }
    }
}
