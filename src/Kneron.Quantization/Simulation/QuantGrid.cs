using Kneron.Quantization.Config;

namespace Kneron.Quantization.Simulation;

/// <summary>
/// The integer range of one bit width. Signed grids are symmetric around
/// zero point 0 (scale = threshold / qmax, so −threshold maps to −qmax);
/// unsigned grids, used for tensors that are never negative, cover
/// [0, 2^bits − 1] with zero point 0.
/// </summary>
public readonly record struct QuantGrid(BitWidth Bits, bool Unsigned)
{
    public int Min => Unsigned ? 0 : -(1 << ((int)Bits - 1));

    public int Max => Unsigned ? (1 << (int)Bits) - 1 : (1 << ((int)Bits - 1)) - 1;

    /// <summary>Quantizes like ONNX QuantizeLinear: round half to even, then saturate.</summary>
    public int Quantize(double value, double scale)
    {
        var rounded = Math.Round(value / scale, MidpointRounding.ToEven);
        return (int)Math.Clamp(rounded, Min, Max);
    }

    public Onnx.TensorProto.Types.DataType DataType => (Bits, Unsigned) switch
    {
        (BitWidth.Int4, false) => Onnx.TensorProto.Types.DataType.Int4,
        (BitWidth.Int4, true) => Onnx.TensorProto.Types.DataType.Uint4,
        (BitWidth.Int8, false) => Onnx.TensorProto.Types.DataType.Int8,
        (BitWidth.Int8, true) => Onnx.TensorProto.Types.DataType.Uint8,
        (BitWidth.Int16, false) => Onnx.TensorProto.Types.DataType.Int16,
        _ => Onnx.TensorProto.Types.DataType.Uint16,
    };
}
