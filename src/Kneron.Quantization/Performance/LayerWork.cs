using Kneron.Quantization.Model;
using Kneron.Quantization.Planning;
using Onnx;

namespace Kneron.Quantization.Performance;

/// <summary>
/// The work one node gives the NPU: multiply-accumulates, bytes moved
/// through DRAM, and the widths of its multiply operands (the stored width of
/// its widest data input, and its weight width). Nodes that take no NPU time
/// (CPU nodes, nodes fused into the node before them, reshapes) have zero
/// MACs and bytes.
/// </summary>
public sealed record LayerWork(string Node, string OpType, string Category, long Macs, long DramBytes, int OperandBits, int WeightBits)
{
    /// <summary>Operators that only relabel dimensions, so their output is their input's memory.</summary>
    private static readonly HashSet<string> MetadataOps = new() { "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout" };

    /// <summary>
    /// Computes every node's work under the plan's bit widths. A tensor's
    /// bytes count at the width it is stored in, which is the width its
    /// producer quantizes it to (a pass-through node such as MaxPool keeps
    /// its input's width). A fused group reads its head's inputs and writes
    /// only the group's output. An output stays in the on-chip buffer, and
    /// moves no DRAM bytes, when the next NPU node is its only reader and
    /// the output and that node's output fit in the buffer together. A layer
    /// whose input and weights both exceed half the buffer is tiled, and
    /// <see cref="TileRereadBytes"/> adds its extra reads.
    /// </summary>
    /// <param name="onChipBufferBytes">On-chip SRAM for activations and operand tiles, in bytes.</param>
    public static IReadOnlyList<LayerWork> Of(OnnxGraph graph, TensorShapes shapes, QuantPlan plan, long onChipBufferBytes)
    {
        var widths = new TensorWidths(graph, plan);
        var nodesByName = graph.Graph.Node.ToDictionary(OnnxGraph.DisplayName, n => n);
        var steps = Steps(graph, plan, nodesByName);

        var onChip = OutputsKeptOnChip(graph, shapes, widths, steps, onChipBufferBytes);

        var stepsByNode = steps.ToDictionary(s => s.Layer.Node);
        var work = new List<LayerWork>();
        foreach (var layer in plan.Layers)
        {
            if (!stepsByNode.TryGetValue(layer.Node, out var step))
            {
                work.Add(new LayerWork(layer.Node, layer.OpType, layer.Category, 0, 0, 8, 8));
                continue;
            }

            work.Add(WorkOf(step, graph, shapes, plan, widths, onChip, onChipBufferBytes));
        }

        return work;
    }

    /// <summary>An NPU node that runs, with the tensors it reads from and writes to memory.</summary>
    private sealed record Step(LayerInfo Layer, NodeProto Node, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs);

    /// <summary>The NPU nodes that take time, in graph order, which is the order they run in.</summary>
    private static List<Step> Steps(OnnxGraph graph, QuantPlan plan, IReadOnlyDictionary<string, NodeProto> nodesByName)
    {
        var steps = new List<Step>();
        foreach (var layer in plan.Layers)
        {
            if (layer.Category != "npu" || !nodesByName.TryGetValue(layer.Node, out var node) || MetadataOps.Contains(node.OpType))
            {
                continue;
            }

            var nonData = OperatorCatalog.NonDataInputs(node.OpType, node.Input.Count).ToHashSet();
            var inputs = node.Input
                .Where((input, slot) => input.Length > 0 && !nonData.Contains(slot) && !graph.IsInitializer(input))
                .Select(input => Source(graph, input))
                .ToList();

            // The head of a fused group reports the group's output. The tensors inside the group never leave the NPU.
            var outputs = layer.OutputTensor is { } grouped && !node.Output.Contains(grouped)
                ? new List<string> { grouped }
                : node.Output.Where(o => o.Length > 0).ToList();
            steps.Add(new Step(layer, node, inputs, outputs));
        }

        return steps;
    }

    private static HashSet<string> OutputsKeptOnChip(OnnxGraph graph, TensorShapes shapes, TensorWidths widths, IReadOnlyList<Step> steps, long onChipBufferBytes)
    {
        var onChip = new HashSet<string>();
        for (int i = 0; i + 1 < steps.Count; i++)
        {
            var next = steps[i + 1];
            long nextOutputBytes = next.Outputs.Sum(o => widths.Bytes(o, shapes));
            foreach (var output in steps[i].Outputs)
            {
                var (readers, isModelOutput) = Readers(graph, output);
                bool onlyNextReads = readers.Count > 0 && readers.All(r => ReferenceEquals(r, next.Node));
                if (!isModelOutput && onlyNextReads && widths.Bytes(output, shapes) + nextOutputBytes <= onChipBufferBytes)
                {
                    onChip.Add(output);
                }
            }
        }

        return onChip;
    }

    private static LayerWork WorkOf(Step step, OnnxGraph graph, TensorShapes shapes, QuantPlan plan, TensorWidths widths, IReadOnlySet<string> onChip, long onChipBufferBytes)
    {
        var cost = LayerCost.Of(step.Node, graph, shapes);
        int weightBits = step.Layer.WeightInitializer is { } weight
            ? (int?)plan.Constants.FirstOrDefault(c => c.Initializer == weight)?.Bits ?? 8
            : 8;
        long weightBytes = Bytes(cost.WeightElements, weightBits);

        long inputBytes = step.Inputs.Sum(i => widths.Bytes(i, shapes));
        long dramInputBytes = step.Inputs.Where(i => !onChip.Contains(i)).Sum(i => widths.Bytes(i, shapes));
        long dramOutputBytes = step.Outputs.Where(o => !onChip.Contains(o)).Sum(o => widths.Bytes(o, shapes));
        long bytes = dramInputBytes + dramOutputBytes + weightBytes + TileRereadBytes(inputBytes, weightBytes, onChipBufferBytes);

        int operandBits = step.Inputs.Count > 0
            ? step.Inputs.Max(widths.Bits)
            : step.Outputs.Select(widths.Bits).DefaultIfEmpty(8).Max();
        return new LayerWork(step.Layer.Node, step.Layer.OpType, step.Layer.Category, cost.Macs, bytes, operandBits, weightBits);
    }

    /// <summary>
    /// Computes the extra DRAM reads of a tiled layer. Each operand gets half
    /// the buffer. When neither the input nor the weights fit in their half,
    /// one of them is read again for every tile of the other, whichever moves
    /// fewer bytes.
    /// </summary>
    private static long TileRereadBytes(long inputBytes, long weightBytes, long onChipBufferBytes)
    {
        long half = onChipBufferBytes / 2;
        if (half <= 0 || inputBytes <= half || weightBytes <= half)
        {
            return 0;
        }

        long inputTiles = (inputBytes + half - 1) / half, weightTiles = (weightBytes + half - 1) / half;
        return Math.Min(weightBytes * (inputTiles - 1), inputBytes * (weightTiles - 1));
    }

    internal static long Bytes(long elements, int bits) => (elements * bits + 7) / 8;

    /// <summary>Returns the tensor a reshape chain starts from, because reshapes share their input's memory.</summary>
    private static string Source(OnnxGraph graph, string tensor)
    {
        for (int depth = 0; depth < 64 && graph.Producer(tensor) is { } producer && MetadataOps.Contains(producer.OpType); depth++)
        {
            tensor = producer.Input[0];
        }

        return tensor;
    }

    /// <summary>The nodes that read a tensor, looking through reshapes, and whether it (or a reshape of it) is a model output.</summary>
    private static (List<NodeProto> Readers, bool IsModelOutput) Readers(OnnxGraph graph, string tensor)
    {
        var readers = new List<NodeProto>();
        bool isModelOutput = false;
        var pending = new Stack<string>();
        pending.Push(tensor);
        while (pending.Count > 0)
        {
            var current = pending.Pop();
            isModelOutput |= graph.IsGraphOutput(current);
            foreach (var consumer in graph.Consumers(current))
            {
                if (MetadataOps.Contains(consumer.OpType) && consumer.Input[0] == current)
                {
                    pending.Push(consumer.Output[0]);
                }
                else
                {
                    readers.Add(consumer);
                }
            }
        }

        return (readers, isModelOutput);
    }

    /// <summary>The width each tensor is stored in under a plan.</summary>
    private sealed class TensorWidths
    {
        private readonly OnnxGraph _graph;
        private readonly Dictionary<string, int> _quantized;

        public TensorWidths(OnnxGraph graph, QuantPlan plan)
        {
            _graph = graph;
            _quantized = plan.Activations.ToDictionary(a => a.Tensor, a => (int)a.Bits);
        }

        /// <summary>
        /// The width the plan quantizes the tensor to, or, for the output of a
        /// pass-through node (MaxPool, Transpose, reshapes), the width of that
        /// node's input. A tensor the plan leaves unquantized, such as an
        /// integer index, counts as 8 bits.
        /// </summary>
        public int Bits(string tensor)
        {
            for (int depth = 0; depth < 64; depth++)
            {
                if (_quantized.TryGetValue(tensor, out var bits))
                {
                    return bits;
                }

                var producer = _graph.Producer(tensor);
                if (producer is null || !OperatorCatalog.PassThroughOps.Contains(producer.OpType) || producer.Input.Count == 0)
                {
                    break;
                }

                tensor = producer.Input[0];
            }

            return 8;
        }

        public long Bytes(string tensor, TensorShapes shapes) => LayerWork.Bytes(shapes.ElementCount(tensor), Bits(tensor));
    }
}
