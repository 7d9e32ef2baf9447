using Kneron.Quantization.Model;
using Kneron.Quantization.Planning;
using Onnx;

namespace Kneron.Quantization.Performance;

/// <summary>
/// The work of one node: multiply-accumulates, activation elements read and
/// written, and weight elements read. Bias and other small constants are
/// left out of the byte count.
/// </summary>
public sealed record LayerCost(long Macs, long InputElements, long OutputElements, long WeightElements)
{
    public static readonly LayerCost None = new(0, 0, 0, 0);

    /// <summary>Operators that only relabel dimensions or pass their input on: no work and no data moved.</summary>
    private static readonly HashSet<string> MetadataOps = new() { "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout" };

    /// <summary>Operators that move data without arithmetic: bytes but no MACs.</summary>
    private static readonly HashSet<string> DataMovementOps = new()
    {
        "Transpose", "Concat", "Slice", "Split", "Pad", "Resize", "Upsample", "DepthToSpace", "SpaceToDepth", "Gather", "Expand", "Tile",
    };

    /// <summary>Computes the cost of <paramref name="node"/> from the measured tensor shapes.</summary>
    public static LayerCost Of(NodeProto node, OnnxGraph graph, TensorShapes shapes)
    {
        if (MetadataOps.Contains(node.OpType))
        {
            return None;
        }

        var nonData = OperatorCatalog.NonDataInputs(node.OpType, node.Input.Count).ToHashSet();
        long inputElements = 0, weightElements = 0;
        for (int slot = 0; slot < node.Input.Count; slot++)
        {
            var input = node.Input[slot];
            if (input.Length == 0 || nonData.Contains(slot))
            {
                continue;
            }

            if (graph.IsInitializer(input))
            {
                // Only the weight slot counts: biases and scalar operands are small next to it.
                if (slot == 1 && OperatorCatalog.WeightedOps.Contains(node.OpType))
                {
                    weightElements += shapes.ElementCount(input);
                }
            }
            else
            {
                inputElements += shapes.ElementCount(input);
            }
        }

        long outputElements = node.Output.Sum(shapes.ElementCount);
        long macs = DataMovementOps.Contains(node.OpType) ? 0 : CountMacs(node, shapes, inputElements, outputElements);
        return new LayerCost(macs, inputElements, outputElements, weightElements);
    }

    private static long CountMacs(NodeProto node, TensorShapes shapes, long inputElements, long outputElements)
    {
        switch (node.OpType)
        {
            case "Conv":
                // Each output element takes (input channels / group) × kernel MACs: the weight's size per output channel.
                return shapes.TryGet(node.Input[1], out var convWeight) && convWeight.Length > 0 && convWeight[0] > 0
                    ? outputElements * (shapes.ElementCount(node.Input[1]) / convWeight[0])
                    : 0;
            case "ConvTranspose":
                // Each input element is scattered through (output channels / group) × kernel MACs.
                return shapes.TryGet(node.Input[1], out var transposedWeight) && transposedWeight.Length > 0 && transposedWeight[0] > 0
                    ? shapes.ElementCount(node.Input[0]) * (shapes.ElementCount(node.Input[1]) / transposedWeight[0])
                    : 0;
            case "Gemm":
            {
                if (!shapes.TryGet(node.Input[0], out var a) || a.Length != 2)
                {
                    return 0;
                }

                long k = OnnxGraph.IntAttribute(node, "transA", 0) != 0 ? a[0] : a[1];
                return outputElements * k;
            }

            case "MatMul":
                return shapes.TryGet(node.Input[0], out var left) && left.Length > 0 ? outputElements * left[^1] : 0;
            case "MaxPool":
            case "AveragePool":
            {
                var kernel = OnnxGraph.Attribute(node, "kernel_shape");
                long window = kernel is null ? 1 : kernel.Ints.Aggregate(1L, (product, k) => product * k);
                return outputElements * window;
            }

            case "GlobalAveragePool":
            case "GlobalMaxPool":
            case "ReduceMean":
            case "ReduceSum":
            case "ReduceMax":
                return inputElements;
            default:
                // Element-wise operators: one operation per output element.
                return outputElements;
        }
    }
}
