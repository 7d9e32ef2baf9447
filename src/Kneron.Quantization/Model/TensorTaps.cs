using Onnx;

namespace Kneron.Quantization.Model;

/// <summary>
/// Inserts nodes behind chosen tensors of a graph without changing the names
/// the rest of the graph uses, and keeps the node list in topological order.
/// Both the QDQ model and the simulation graph put a quantize step behind
/// activations this way.
/// </summary>
public sealed class TensorTaps
{
    private readonly OnnxGraph _graph;
    private readonly NameScope _names;
    private readonly List<NodeProto> _first = new();

    // Keyed by reference: renaming a node's output changes its protobuf hash.
    private readonly Dictionary<NodeProto, List<NodeProto>> _after = new(ReferenceEqualityComparer.Instance);

    public TensorTaps(OnnxGraph graph, NameScope names)
    {
        _graph = graph;
        _names = names;
    }

    /// <summary>
    /// Detaches <paramref name="tensor"/> from its readers. Returns the name
    /// that contains its original value (<c>Source</c>) and the name the inserted
    /// nodes must write for the readers (<c>Result</c>). The producer of an
    /// intermediate tensor writes a renamed copy and <c>Result</c> keeps the
    /// original name, so graph outputs stay; a model input keeps its name and
    /// its readers switch to a new one, inside the subgraphs of If, Loop and Scan as well.
    /// </summary>
    public (string Source, string Result, NodeProto? Producer) Intercept(string tensor)
    {
        var producer = _graph.Producer(tensor);
        if (producer is null)
        {
            var result = _names.Next(tensor + "_dequantized");
            foreach (var consumer in _graph.Consumers(tensor))
            {
                for (int i = 0; i < consumer.Input.Count; i++)
                {
                    if (consumer.Input[i] == tensor)
                    {
                        consumer.Input[i] = result;
                    }
                }

                Subgraphs.RenameOuterScopeInput(consumer, tensor, result);
            }

            return (tensor, result, null);
        }

        var source = _names.Next(tensor + "_float");
        for (int i = 0; i < producer.Output.Count; i++)
        {
            if (producer.Output[i] == tensor)
            {
                producer.Output[i] = source;
            }
        }

        return (source, tensor, producer);
    }

    /// <summary>Places nodes right after <paramref name="producer"/>, or at the start of the graph when it is null (a model input).</summary>
    public void Insert(NodeProto? producer, IEnumerable<NodeProto> nodes)
    {
        if (producer is null)
        {
            _first.AddRange(nodes);
            return;
        }

        if (!_after.TryGetValue(producer, out var list))
        {
            _after[producer] = list = new List<NodeProto>();
        }

        list.AddRange(nodes);
    }

    /// <summary>Places nodes at the start of the graph, such as those that compute from constants only.</summary>
    public void InsertFirst(NodeProto node) => _first.Add(node);

    /// <summary>Rewrites the node list: the first nodes, then each original node followed by the nodes inserted after it.</summary>
    public void Commit()
    {
        var ordered = new List<NodeProto>(_first);
        foreach (var node in _graph.Graph.Node)
        {
            ordered.Add(node);
            if (_after.TryGetValue(node, out var after))
            {
                ordered.AddRange(after);
            }
        }

        _graph.Graph.Node.Clear();
        _graph.Graph.Node.AddRange(ordered);
        _graph.Reindex();
    }
}
