using Kneron.Quantization.Config;
using Kneron.Quantization.Model;
using Onnx;

namespace Kneron.Quantization.Planning;

/// <summary>
/// Decides which tensors of a normalized graph are quantized and at what bit
/// width, the way the Kneron NPU stores them: a Conv (or ConvTranspose, Gemm,
/// MatMul) with the activation after it is one node, so its weights and its
/// final output are quantized but not the tensor between them; data movement
/// keeps its input's scale; shapes, indices and clipping bounds are never
/// quantized.
/// </summary>
public sealed class QuantPlanner
{
    /// <summary>Element-wise operators that may belong to an activation fused after a Conv, such as HardSwish written as x·HardSigmoid(x).</summary>
    private static readonly HashSet<string> ActivationClosureOps = new()
    {
        "Relu", "Clip", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Add", "Sub", "Mul", "Div",
    };

    private const int MaxActivationNodes = 8;

    private readonly OnnxGraph _graph;
    private readonly IReadOnlySet<string> _floatTensors;
    private readonly HashSet<string> _dynamic = new();
    private readonly HashSet<string> _shapeLike = new();
    private readonly Platform? _platform;

    /// <param name="graph">The normalized graph.</param>
    /// <param name="floatTensors">Every tensor whose element type is float32, as ONNX Runtime reports it.</param>
    /// <param name="platform">Decides which operators are CPU nodes; null counts only the operators that are CPU nodes on every platform.</param>
    public QuantPlanner(OnnxGraph graph, IReadOnlySet<string> floatTensors, Platform? platform = null)
    {
        _graph = graph;
        _floatTensors = floatTensors;
        _platform = platform;
        MarkDynamicTensors();
        MarkShapeLikeTensors();
    }

    public QuantPlan Plan(BitwidthSettings bits)
    {
        var groups = FindFusedGroups();
        var headOfOutput = new Dictionary<string, string>();
        foreach (var node in _graph.Graph.Node.Where(n => OperatorCatalog.WeightedOps.Contains(n.OpType)))
        {
            var output = groups.TryGetValue(node, out var group) ? group.Output : node.Output.FirstOrDefault();
            if (output is { Length: > 0 })
            {
                headOfOutput[output] = OnnxGraph.DisplayName(node);
            }
        }

        var internalTensors = groups.Values.SelectMany(g => g.Internal).ToHashSet();
        var fusedNodes = groups.Values.SelectMany(g => g.Nodes.Skip(1)).ToHashSet();

        var activations = new Dictionary<string, ActivationPoint>();
        foreach (var input in _graph.RealInputs)
        {
            if (_floatTensors.Contains(input.Name) && !_shapeLike.Contains(input.Name))
            {
                activations[input.Name] = new ActivationPoint(input.Name, null, "Input", ActivationRole.ModelInput, bits.ModelIn, false);
            }
        }

        var layers = new List<LayerInfo>();
        var cpuNodes = new List<string>();
        foreach (var node in _graph.Graph.Node)
        {
            var name = OnnxGraph.DisplayName(node);
            bool isCpu = IsCpuNode(node);
            if (isCpu)
            {
                cpuNodes.Add(name);
            }

            string category = isCpu ? "cpu" : fusedNodes.Contains(node) ? "fused" : "npu";
            string? weight = OperatorCatalog.WeightedOps.Contains(node.OpType) && node.Input.Count > 1 && IsQuantizableConstant(node.Input[1]) ? node.Input[1] : null;
            string? quantized = null;

            foreach (var output in node.Output)
            {
                if (!IsQuantizableActivation(output) || internalTensors.Contains(output) || OperatorCatalog.PassThroughOps.Contains(node.OpType))
                {
                    continue;
                }

                var role = isCpu ? ActivationRole.CpuNode : ActivationRole.Datapath;
                var owner = headOfOutput.TryGetValue(output, out var head) ? head : name;
                var width = isCpu ? bits.CpuNode
                    : bits.NodeDatapath.TryGetValue(owner, out var nodeWidth) ? nodeWidth
                    : bits.Datapath;
                activations[output] = new ActivationPoint(output, name, node.OpType, role, width, IsNonNegative(node));
                quantized ??= output;
            }

            layers.Add(new LayerInfo(name, node.OpType, category, quantized, weight));
        }

        // Inputs of CPU nodes take the CPU width at the point where they were last quantized.
        foreach (var node in _graph.Graph.Node.Where(IsCpuNode))
        {
            foreach (var input in node.Input.Where(i => i.Length > 0))
            {
                var source = QuantizedSource(input, activations);
                if (source is not null && activations[source].Role != ActivationRole.ModelInput)
                {
                    activations[source] = activations[source] with { Role = ActivationRole.CpuNode, Bits = bits.CpuNode };
                }
            }
        }

        // Model outputs are set last: their own key wins over datapath and CPU widths.
        foreach (var output in _graph.Graph.Output)
        {
            var source = QuantizedSource(output.Name, activations);
            if (source is not null && activations[source].Role != ActivationRole.ModelInput)
            {
                activations[source] = activations[source] with { Role = ActivationRole.ModelOutput, Bits = bits.ModelOut };
            }
        }

        // Fused groups report the group's output on their first node (the Conv).
        for (int i = 0; i < layers.Count; i++)
        {
            var node = _graph.Graph.Node[i];
            if (groups.TryGetValue(node, out var group))
            {
                layers[i] = layers[i] with { OutputTensor = group.Output };
            }
        }

        return new QuantPlan
        {
            Activations = activations.Values.ToList(),
            Constants = PlanConstants(bits),
            Layers = layers,
            ConvLayers = FindConvLayers(headOfOutput, activations),
            CpuNodes = cpuNodes,
            EvaluatedTensors = FindEvaluatedTensors(),
        };
    }

    /// <summary>Follows a tensor back through data-movement nodes to the tensor whose quantization it carries.</summary>
    private string? QuantizedSource(string tensor, IReadOnlyDictionary<string, ActivationPoint> activations)
    {
        var current = tensor;
        for (int depth = 0; depth < 64; depth++)
        {
            if (activations.ContainsKey(current))
            {
                return current;
            }

            var producer = _graph.Producer(current);
            if (producer is null || !OperatorCatalog.PassThroughOps.Contains(producer.OpType) || producer.Input.Count == 0)
            {
                return null;
            }

            current = producer.Input[0];
        }

        return null;
    }

    private List<ConstantPoint> PlanConstants(BitwidthSettings bits)
    {
        var constants = new Dictionary<string, ConstantPoint>();
        foreach (var node in _graph.Graph.Node)
        {
            var name = OnnxGraph.DisplayName(node);
            if (OperatorCatalog.WeightedOps.Contains(node.OpType) && node.Input.Count > 1 && IsQuantizableConstant(node.Input[1]))
            {
                var weight = _graph.Initializers[node.Input[1]];
                var width = bits.NodeWeight.TryGetValue(name, out var nodeWidth) ? nodeWidth : bits.Weight;
                constants[node.Input[1]] = new ConstantPoint(node.Input[1], name, node.OpType, ConstantRole.Weight, width, WeightAxis(node, weight));
            }
        }

        foreach (var node in _graph.Graph.Node.Where(n => OperatorCatalog.ConstantInputOps.Contains(n.OpType)))
        {
            foreach (var input in node.Input)
            {
                if (IsQuantizableConstant(input) && !constants.ContainsKey(input))
                {
                    constants[input] = new ConstantPoint(input, OnnxGraph.DisplayName(node), node.OpType, ConstantRole.ConstantInput, bits.ConstIn, null);
                }
            }
        }

        return constants.Values.ToList();
    }

    /// <summary>
    /// Lists each Conv and ConvTranspose with constant weights and a
    /// quantized output. MACs per element: for a Conv, multiply-accumulates
    /// per output element (C/group · kH · kW, the weight's size past axis 0);
    /// for a ConvTranspose, per input element (M/group · kH · kW).
    /// </summary>
    private List<ConvLayer> FindConvLayers(IReadOnlyDictionary<string, string> headOfOutput, IReadOnlyDictionary<string, ActivationPoint> activations)
    {
        var layers = new List<ConvLayer>();
        foreach (var (output, head) in headOfOutput)
        {
            var node = _graph.Graph.Node.First(n => OnnxGraph.DisplayName(n) == head);
            if (node.OpType is not ("Conv" or "ConvTranspose") || !activations.ContainsKey(output) || node.Input.Count < 2
                || !_graph.Initializers.TryGetValue(node.Input[1], out var weight) || weight.Dims.Count < 2)
            {
                continue;
            }

            long group = OnnxGraph.IntAttribute(node, "group", 1);
            long macsPerElement = weight.Dims.Skip(1).Aggregate(1L, (a, b) => a * b);
            var (inChannels, outChannels) = node.OpType == "Conv"
                ? (weight.Dims[1] * group, weight.Dims[0])
                : (weight.Dims[0], weight.Dims[1] * group);
            layers.Add(new ConvLayer(head, node.OpType, node.Input[1], node.Input[0], output, inChannels, outChannels, macsPerElement));
        }

        return layers;
    }

    /// <summary>
    /// The output-channel axis of a weight: 0 for Conv (M×C×k…), 1 for
    /// ConvTranspose (C×M×k…), for Gemm 0 when <c>transB</c> is set (N×K) and
    /// 1 otherwise (K×N), and the last axis of a 2-D MatMul operand (K×N).
    /// Null (one scale for the tensor) where no channel axis applies.
    /// </summary>
    private static int? WeightAxis(NodeProto node, TensorProto weight) => node.OpType switch
    {
        "Conv" => 0,
        "ConvTranspose" => weight.Dims.Count > 1 ? 1 : null,
        "Gemm" => OnnxGraph.IntAttribute(node, "transB", 0) != 0 ? 0 : 1,
        "MatMul" => weight.Dims.Count == 2 ? 1 : null,
        _ => null,
    };

    /// <summary>
    /// A node is a CPU node when its operator is (see <see cref="OperatorCatalog.IsCpuNode"/>)
    /// and it computes data: a node whose outputs are constants or shapes is
    /// folded at compile time, because every input shape is fixed by then.
    /// </summary>
    private bool IsCpuNode(NodeProto node) =>
        OperatorCatalog.IsCpuNode(node, _platform) && node.Output.Any(o => _dynamic.Contains(o) && !_shapeLike.Contains(o));

    private bool IsQuantizableActivation(string tensor) =>
        tensor.Length > 0 && _floatTensors.Contains(tensor) && _dynamic.Contains(tensor) && !_shapeLike.Contains(tensor);

    private bool IsQuantizableConstant(string tensor) =>
        _graph.Initializers.TryGetValue(tensor, out var value) && TensorData.IsFloat(value) && !_shapeLike.Contains(tensor) && TensorData.ElementCount(value) > 0;

    /// <summary>Whether the node's output can never be negative, so an unsigned grid of the same width may hold it.</summary>
    private bool IsNonNegative(NodeProto node)
    {
        if (OperatorCatalog.NonNegativeOps.Contains(node.OpType))
        {
            return true;
        }

        if (node.OpType == "Clip")
        {
            float? min = node.Input.Count > 1 && node.Input[1].Length > 0 && _graph.Initializers.TryGetValue(node.Input[1], out var minTensor)
                ? TensorData.ReadFloats(minTensor).FirstOrDefault()
                : OnnxGraph.Attribute(node, "min")?.F;
            return min is >= 0;
        }

        return false;
    }

    /// <summary>Marks every tensor that depends on a model input; the rest are constants computed inside the graph.</summary>
    private void MarkDynamicTensors()
    {
        foreach (var input in _graph.RealInputs)
        {
            _dynamic.Add(input.Name);
        }

        foreach (var node in _graph.Graph.Node)
        {
            if (node.Input.Any(_dynamic.Contains))
            {
                foreach (var output in node.Output)
                {
                    _dynamic.Add(output);
                }
            }
        }
    }

    /// <summary>Marks tensors that feed shape, index or bound inputs, and everything upstream of them.</summary>
    private void MarkShapeLikeTensors()
    {
        var pending = new Stack<string>();
        foreach (var node in _graph.Graph.Node)
        {
            // Shape and Size read only the dimensions of their input, never its values, so that input
            // stays a data tensor. Seeding from it would mark the whole data path above it as shape-like
            // and leave the model unquantized.
            if (node.OpType is "Shape" or "Size")
            {
                continue;
            }

            foreach (var slot in OperatorCatalog.NonDataInputs(node.OpType, node.Input.Count))
            {
                if (slot < node.Input.Count && node.Input[slot].Length > 0)
                {
                    pending.Push(node.Input[slot]);
                }
            }
        }

        while (pending.Count > 0)
        {
            var tensor = pending.Pop();
            if (!_shapeLike.Add(tensor))
            {
                continue;
            }

            var producer = _graph.Producer(tensor);
            if (producer is not null && producer.OpType is not ("Shape" or "Size"))
            {
                foreach (var input in producer.Input.Where(i => i.Length > 0))
                {
                    pending.Push(input);
                }
            }
        }
    }

    private sealed record FusedGroup(IReadOnlyList<NodeProto> Nodes, IReadOnlySet<string> Internal, string Output);

    /// <summary>
    /// Finds each weighted node together with the activation after it. The
    /// activation is the largest set of element-wise nodes (at most
    /// <see cref="MaxActivationNodes"/>) fed only by the weighted node's output,
    /// by each other and by constants, that ends in a single tensor: this
    /// covers a plain Relu or Clip as well as HardSwish written as
    /// x·HardSigmoid(x) or x·Relu6(x+3)/6, and Swish as x·Sigmoid(x).
    /// </summary>
    private Dictionary<NodeProto, FusedGroup> FindFusedGroups()
    {
        var groups = new Dictionary<NodeProto, FusedGroup>();
        foreach (var head in _graph.Graph.Node.Where(n => OperatorCatalog.WeightedOps.Contains(n.OpType) && n.Output.Count == 1))
        {
            var start = head.Output[0];
            if (_graph.IsGraphOutput(start))
            {
                continue;
            }

            var members = new List<NodeProto>();
            var internalTensors = new HashSet<string> { start };
            bool grew = true;
            while (grew && members.Count < MaxActivationNodes)
            {
                grew = false;
                foreach (var tensor in internalTensors.ToList())
                {
                    foreach (var consumer in _graph.Consumers(tensor))
                    {
                        if (members.Contains(consumer) || !ActivationClosureOps.Contains(consumer.OpType) || consumer.Output.Count != 1)
                        {
                            continue;
                        }

                        bool onlyInternalOrConstant = consumer.Input.All(i => i.Length == 0 || internalTensors.Contains(i) || !_dynamic.Contains(i));
                        if (onlyInternalOrConstant && members.Count < MaxActivationNodes)
                        {
                            members.Add(consumer);
                            internalTensors.Add(consumer.Output[0]);
                            grew = true;
                        }
                    }
                }
            }

            var output = ClosureOutput(start, members, internalTensors);
            if (output is null && members.Count > 0)
            {
                // The closure branched out; fall back to the single activation right after the head, if any.
                var next = _graph.Consumers(start);
                if (next.Count == 1 && OperatorCatalog.FusableActivations.Contains(next[0].OpType) && next[0].Output.Count == 1)
                {
                    members = new List<NodeProto> { next[0] };
                    internalTensors = new HashSet<string> { start, next[0].Output[0] };
                    output = ClosureOutput(start, members, internalTensors);
                }
            }

            if (output is null || members.Count == 0)
            {
                continue;
            }

            internalTensors.Remove(output);
            groups[head] = new FusedGroup(new[] { head }.Concat(members).ToList(), internalTensors, output);
        }

        return groups;
    }

    /// <summary>The one tensor of the closure used outside it, when there is exactly one and a member produces it.</summary>
    private string? ClosureOutput(string start, List<NodeProto> members, HashSet<string> internalTensors)
    {
        var open = internalTensors
            .Where(t => _graph.IsGraphOutput(t) || _graph.Consumers(t).Any(c => !members.Contains(c)))
            .ToList();
        if (open.Count != 1 || open[0] == start)
        {
            return null;
        }

        return open[0];
    }

    /// <summary>
    /// For each model output, the tensor its SNR is measured on: the output
    /// itself, or, when a comparison lies on its path (a decision such as a
    /// heat-map NMS <c>h · (MaxPool(h) == h)</c>), the data input of the first
    /// comparison found walking back from the output.
    /// </summary>
    private Dictionary<string, string> FindEvaluatedTensors()
    {
        var result = new Dictionary<string, string>();
        foreach (var output in _graph.Graph.Output)
        {
            result[output.Name] = FindComparisonInput(output.Name) ?? output.Name;
        }

        return result;
    }

    private string? FindComparisonInput(string output)
    {
        var visited = new HashSet<string>();
        var queue = new Queue<string>();
        queue.Enqueue(output);
        while (queue.Count > 0)
        {
            var tensor = queue.Dequeue();
            if (!visited.Add(tensor))
            {
                continue;
            }

            var producer = _graph.Producer(tensor);
            if (producer is null)
            {
                continue;
            }

            if (OperatorCatalog.ComparisonOps.Contains(producer.OpType))
            {
                // Of the compared tensors, prefer one not made by pooling: in h == MaxPool(h) that is h.
                var candidates = producer.Input.Where(i => i.Length > 0 && _floatTensors.Contains(i) && _dynamic.Contains(i)).ToList();
                return candidates.FirstOrDefault(c => _graph.Producer(c)?.OpType is not ("MaxPool" or "AveragePool"))
                    ?? candidates.FirstOrDefault();
            }

            foreach (var input in DataInputs(producer).Where(_dynamic.Contains))
            {
                queue.Enqueue(input);
            }
        }

        return null;
    }

    /// <summary>
    /// The tensors whose values flow into the node's outputs. The condition of If and the trip count
    /// and condition of Loop only choose which values flow, so a comparison behind them does not make
    /// the output a decision. The outer tensors a subgraph reads are data.
    /// NOTE: nodes inside a subgraph are not searched, so a comparison inside an If branch or a Loop
    /// body does not make the node's output a decision.
    /// </summary>
    private static IEnumerable<string> DataInputs(NodeProto node)
    {
        int controlInputs = node.OpType switch
        {
            "If" => 1,
            "Loop" => 2,
            _ => 0,
        };
        var inputs = node.Input.Skip(controlInputs);
        if (Subgraphs.HasSubgraphs(node))
        {
            inputs = inputs.Concat(Subgraphs.OuterScopeInputs(node));
        }

        return inputs.Where(i => i.Length > 0);
    }
}
