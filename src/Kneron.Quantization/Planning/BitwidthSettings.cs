using Kneron.Quantization.Config;

namespace Kneron.Quantization.Planning;

/// <summary>
/// The bit width of each kind of tensor for one run. <see cref="Datapath"/>
/// applies to NPU nodes; a Conv or ConvTranspose named in
/// <see cref="NodeDatapath"/> or <see cref="NodeWeight"/> (by node name)
/// takes that width for its output or its weights instead, which is how the
/// mixed modes pick widths per layer.
/// </summary>
public sealed record BitwidthSettings(BitWidth Datapath, BitWidth Weight, BitWidth ModelIn, BitWidth ModelOut, BitWidth CpuNode, BitWidth ConstIn)
{
    public IReadOnlyDictionary<string, BitWidth> NodeDatapath { get; init; } = new Dictionary<string, BitWidth>();

    public IReadOnlyDictionary<string, BitWidth> NodeWeight { get; init; } = new Dictionary<string, BitWidth>();

    /// <summary>All six kinds at one width, as the manual's "int8 run" and "int16 run".</summary>
    public static BitwidthSettings Uniform(BitWidth bits) => new(bits, bits, bits, bits, bits, bits);
}
