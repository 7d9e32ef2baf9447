using Kneron.Quantization.Config;

namespace Kneron.Quantization.Planning;

/// <summary>The bit width of each kind of tensor for one fixed-width run.</summary>
public sealed record BitwidthSettings(BitWidth Datapath, BitWidth Weight, BitWidth ModelIn, BitWidth ModelOut, BitWidth CpuNode, BitWidth ConstIn)
{
    /// <summary>All six kinds at one width, as the manual's "int8 run" and "int16 run".</summary>
    public static BitwidthSettings Uniform(BitWidth bits) => new(bits, bits, bits, bits, bits, bits);
}
