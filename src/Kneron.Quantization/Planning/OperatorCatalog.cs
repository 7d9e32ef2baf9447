using Kneron.Quantization.Config;
using Kneron.Quantization.Performance;

namespace Kneron.Quantization.Planning;

/// <summary>
/// How each ONNX operator is treated by the quantizer. Operators not listed
/// as pass-through, CPU or comparison compute new values on the NPU and get
/// their own output quantization.
/// </summary>
public static class OperatorCatalog
{
    /// <summary>Operators whose weights (input 1) are quantized per output channel.</summary>
    public static readonly IReadOnlySet<string> WeightedOps = new HashSet<string> { "Conv", "ConvTranspose", "Gemm", "MatMul" };

    /// <summary>
    /// Pure data movement: the output holds values of the input unchanged, so
    /// it keeps the input's scale and gets no quantization of its own. Pad
    /// only inserts zeros, which every symmetric grid represents exactly.
    /// </summary>
    public static readonly IReadOnlySet<string> PassThroughOps = new HashSet<string>
    {
        "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Slice", "Split", "MaxPool",
        "Identity", "Pad", "Gather", "Expand", "Tile", "DepthToSpace", "SpaceToDepth", "Dropout",
    };

    /// <summary>Activations the NPU fuses into the Conv, ConvTranspose or Gemm before them.</summary>
    public static readonly IReadOnlySet<string> FusableActivations = new HashSet<string>
    {
        "Relu", "Clip", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish",
    };

    /// <summary>
    /// Operators every Kneron platform runs on its CPU, whatever its NPU
    /// supports (per Kneron's published operator table), plus control flow.
    /// Operators of any domain other than the default ONNX one are CPU nodes too.
    /// </summary>
    public static readonly IReadOnlySet<string> CpuOps = new HashSet<string>
    {
        "TopK", "Where", "Cast", "ReduceL2", "NonMaxSuppression", "Loop", "If", "Scan",
    };

    /// <summary>Operators whose output is a decision: a tiny input change can flip it.</summary>
    public static readonly IReadOnlySet<string> ComparisonOps = new HashSet<string>
    {
        "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "ArgMax", "ArgMin", "TopK", "NonMaxSuppression",
    };

    /// <summary>Operators whose output is never negative, so an unsigned grid of the same width covers it.</summary>
    public static readonly IReadOnlySet<string> NonNegativeOps = new HashSet<string>
    {
        "Relu", "Sigmoid", "HardSigmoid", "Softmax", "Abs", "Exp", "Sqrt",
    };

    /// <summary>
    /// Input slots that carry shapes, indices, axes or clipping bounds rather
    /// than data. Tensors feeding them, and everything upstream of them, are
    /// never quantized.
    /// </summary>
    public static IEnumerable<int> NonDataInputs(string opType, int inputCount) => opType switch
    {
        "Reshape" or "Expand" or "Tile" or "Upsample" or "Split" or "Squeeze" or "Unsqueeze" or "TopK"
            or "ReduceSum" or "ReduceMean" or "ReduceMax" or "ReduceMin" or "ReduceL2" or "ReduceProd" => Enumerable.Range(1, Math.Max(0, inputCount - 1)),
        "Resize" or "Slice" or "Pad" or "Clip" or "Gather" or "GatherElements" or "ScatterND" or "OneHot" => Enumerable.Range(1, Math.Max(0, inputCount - 1)),
        "ConstantOfShape" or "Range" or "NonZero" or "Shape" or "Size" => Enumerable.Range(0, inputCount),
        _ => Enumerable.Empty<int>(),
    };

    /// <summary>Operators whose constant inputs are quantized with <c>const_in_bitwidth_mode</c>.</summary>
    public static readonly IReadOnlySet<string> ConstantInputOps = new HashSet<string>
    {
        "Add", "Sub", "Mul", "Div", "Concat", "PRelu", "Max", "Min", "Sum",
    };

    /// <summary>
    /// Whether the node runs on the CPU: always for <see cref="CpuOps"/> and
    /// custom domains, and on <paramref name="platform"/> for every operator
    /// its NPU does not run (Kneron's operator table). Without a platform only
    /// the always-CPU operators count.
    /// </summary>
    public static bool IsCpuNode(Onnx.NodeProto node, Platform? platform = null) =>
        CpuOps.Contains(node.OpType)
        || node.Domain is not ("" or "ai.onnx")
        || (platform is { } p && !NpuOperatorTable.Default.RunsOnNpu(node.OpType, p));
}
