using Kneron.Quantization.Config;

namespace Kneron.Quantization.Planning;

/// <summary>Why an activation tensor is quantized, which decides its bit-width key.</summary>
public enum ActivationRole
{
    /// <summary>A model input (<c>model_in_bitwidth_mode</c>).</summary>
    ModelInput,

    /// <summary>The output of an NPU node or fused group (<c>datapath_bitwidth_mode</c>).</summary>
    Datapath,

    /// <summary>An input or output of a CPU node (<c>cpu_node_bitwidth_mode</c>).</summary>
    CpuNode,

    /// <summary>A tensor that is (or passes unchanged into) a model output (<c>model_out_bitwidth_mode</c>).</summary>
    ModelOutput,
}

/// <summary>
/// An activation tensor that gets one QuantizeLinear/DequantizeLinear pair.
/// <see cref="Node"/> is the node (or the last node of the fused group) that
/// produces it; null for a model input.
/// </summary>
public sealed record ActivationPoint(string Tensor, string? Node, string OpType, ActivationRole Role, BitWidth Bits, bool Unsigned);

public enum ConstantRole
{
    /// <summary>Conv, ConvTranspose, Gemm or MatMul weights (<c>weight_bitwidth_mode</c>), one scale per output channel.</summary>
    Weight,

    /// <summary>Another constant input, such as an Add or Mul operand (<c>const_in_bitwidth_mode</c>), one scale per tensor.</summary>
    ConstantInput,
}

/// <summary>
/// A constant initializer stored quantized. <see cref="Axis"/> is the
/// per-channel axis, or null for one scale per tensor.
/// </summary>
public sealed record ConstantPoint(string Initializer, string Node, string OpType, ConstantRole Role, BitWidth Bits, int? Axis);

/// <summary>A node of the source graph as the report lists it: NPU, fused into the NPU node before it, or CPU.</summary>
public sealed record LayerInfo(string Node, string OpType, string Category, string? OutputTensor, string? WeightInitializer);

/// <summary>The result of planning: every tensor to quantize and at what bit width.</summary>
public sealed class QuantPlan
{
    public required IReadOnlyList<ActivationPoint> Activations { get; init; }

    public required IReadOnlyList<ConstantPoint> Constants { get; init; }

    public required IReadOnlyList<LayerInfo> Layers { get; init; }

    /// <summary>Names of CPU nodes, for the JSON and the report.</summary>
    public required IReadOnlyList<string> CpuNodes { get; init; }

    /// <summary>Model output name to the tensor whose SNR is evaluated for it (differs for decision outputs).</summary>
    public required IReadOnlyDictionary<string, string> EvaluatedTensors { get; init; }
}
