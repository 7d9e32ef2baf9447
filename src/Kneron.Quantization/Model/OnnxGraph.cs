using Google.Protobuf;
using Kneron.Quantization.Diagnostics;
using Onnx;

namespace Kneron.Quantization.Model;

/// <summary>
/// An ONNX model held in memory with look-ups the planner needs: which node
/// produces a tensor, which nodes consume it, and the constant initializers.
/// Call <see cref="Reindex"/> after editing the graph.
/// </summary>
public sealed class OnnxGraph
{
    private readonly Dictionary<string, NodeProto> _producers = new();
    private readonly Dictionary<string, List<NodeProto>> _consumers = new();
    private readonly Dictionary<string, TensorProto> _initializers = new();

    public OnnxGraph(ModelProto model, string path, IReadOnlyList<string>? externalDataFiles = null)
    {
        Model = model;
        Path = path;
        ExternalDataFiles = externalDataFiles ?? Array.Empty<string>();
        Reindex();
    }

    public ModelProto Model { get; }

    public GraphProto Graph => Model.Graph;

    /// <summary>Full path of the source file, for diagnostics.</summary>
    public string Path { get; }

    /// <summary>
    /// Full paths of the external data files the source model's tensors were read from;
    /// empty for a model stored in one file. The tensors themselves are inline in <see cref="Model"/>.
    /// </summary>
    public IReadOnlyList<string> ExternalDataFiles { get; }

    public IReadOnlyDictionary<string, TensorProto> Initializers => _initializers;

    /// <summary>Names of the graph inputs that are real inputs, not initializers listed as inputs (IR &lt; 4 models).</summary>
    public IEnumerable<ValueInfoProto> RealInputs => Graph.Input.Where(i => !_initializers.ContainsKey(i.Name));

    /// <summary>
    /// Reads an ONNX file and the external data files its tensors refer to. Throws a
    /// coded <see cref="KnqException"/> when a file is missing or not readable as a model
    /// or its data; the files themselves are never written.
    /// </summary>
    public static OnnxGraph Load(string path)
    {
        var fullPath = System.IO.Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new KnqException(ModelCodes.ModelNotFound, new SourceLocation(fullPath),
                $"Model file '{fullPath}' was not found. Check the path given to the analysis.");
        }

        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(fullPath));
        }
        catch (InvalidProtocolBufferException ex)
        {
            // Protobuf reports a file cut short as input that "ended unexpectedly"; anything else is not ONNX at all.
            var truncated = ex.Message.Contains("ended unexpectedly", StringComparison.OrdinalIgnoreCase);
            throw new KnqException(ModelCodes.InvalidModel, new SourceLocation(fullPath),
                truncated
                    ? $"'{System.IO.Path.GetFileName(fullPath)}' is truncated: the ONNX data ends in the middle of a field. Export or download the model again."
                    : $"'{System.IO.Path.GetFileName(fullPath)}' is not an ONNX model (protobuf: {ex.Message}). Check that the path names the exported .onnx file.", ex);
        }

        if (model.Graph is null || model.IrVersion == 0)
        {
            throw new KnqException(ModelCodes.InvalidModel, new SourceLocation(fullPath),
                $"'{System.IO.Path.GetFileName(fullPath)}' is not a valid ONNX model: it has no graph or no IR version. Export it again as ONNX.");
        }

        if (model.Graph.Node.Count == 0)
        {
            throw new KnqException(ModelCodes.EmptyGraph, new SourceLocation(fullPath),
                $"The graph of '{System.IO.Path.GetFileName(fullPath)}' has no nodes, so there is nothing to quantize.");
        }

        var dataFiles = ExternalData.Inline(model, fullPath);
        return new OnnxGraph(model, fullPath, dataFiles);
    }

    public void Reindex()
    {
        _producers.Clear();
        _consumers.Clear();
        _initializers.Clear();

        foreach (var tensor in Graph.Initializer)
        {
            _initializers[tensor.Name] = tensor;
        }

        foreach (var node in Graph.Node)
        {
            foreach (var output in node.Output)
            {
                if (output.Length > 0)
                {
                    _producers[output] = node;
                }
            }

            // A node with subgraphs also consumes the outer tensors its subgraphs read.
            var inputs = Subgraphs.HasSubgraphs(node) ? node.Input.Concat(Subgraphs.OuterScopeInputs(node)) : node.Input;
            foreach (var input in inputs)
            {
                if (input.Length == 0)
                {
                    continue;
                }

                if (!_consumers.TryGetValue(input, out var list))
                {
                    _consumers[input] = list = new List<NodeProto>();
                }

                if (!list.Contains(node))
                {
                    list.Add(node);
                }
            }
        }
    }

    public NodeProto? Producer(string tensor) => _producers.GetValueOrDefault(tensor);

    /// <summary>Returns the nodes that read the tensor: as an input, or inside their subgraphs (If, Loop, Scan).</summary>
    public IReadOnlyList<NodeProto> Consumers(string tensor) =>
        _consumers.TryGetValue(tensor, out var list) ? list : Array.Empty<NodeProto>();

    public bool IsGraphOutput(string tensor) => Graph.Output.Any(o => o.Name == tensor);

    public bool IsInitializer(string tensor) => _initializers.ContainsKey(tensor);

    /// <summary>Returns the node's display name: its name, or its op type and first output when it has none.</summary>
    public static string DisplayName(NodeProto node) =>
        node.Name.Length > 0 ? node.Name : $"{node.OpType}({node.Output.FirstOrDefault()})";

    public static AttributeProto? Attribute(NodeProto node, string name) =>
        node.Attribute.FirstOrDefault(a => a.Name == name);

    public static long IntAttribute(NodeProto node, string name, long fallback) =>
        Attribute(node, name) is { } attribute ? attribute.I : fallback;

    public static float FloatAttribute(NodeProto node, string name, float fallback) =>
        Attribute(node, name) is { } attribute ? attribute.F : fallback;

    public byte[] ToBytes() => Model.ToByteArray();

    public OnnxGraph Clone() => new(Model.Clone(), Path, ExternalDataFiles);
}
