namespace Kneron.Quantization.Model;

/// <summary>Hands out tensor and node names that no existing tensor, initializer or node uses, in the graph or its subgraphs.</summary>
public sealed class NameScope
{
    private readonly HashSet<string> _used;

    public NameScope(OnnxGraph graph)
    {
        _used = graph.Graph.Node.SelectMany(n => n.Input.Concat(n.Output).Append(n.Name))
            .Concat(graph.Graph.Initializer.Select(t => t.Name))
            .Concat(graph.Graph.Input.Select(i => i.Name))
            .Concat(graph.Graph.Output.Select(o => o.Name))
            .Concat(graph.Graph.Node.Where(Subgraphs.HasSubgraphs).SelectMany(Subgraphs.Names))
            .ToHashSet();
    }

    public string Next(string name)
    {
        var candidate = name;
        for (int i = 1; !_used.Add(candidate); i++)
        {
            candidate = $"{name}_{i}";
        }

        return candidate;
    }
}
