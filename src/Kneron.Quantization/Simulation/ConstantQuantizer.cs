using Kneron.Quantization.Config;
using Kneron.Quantization.Model;
using Onnx;

namespace Kneron.Quantization.Simulation;

/// <summary>A constant tensor quantized symmetrically: its integers, its float32 scales (one per channel along the axis, or one) and the dequantized values.</summary>
public sealed record QuantizedConstant(int[] Quantized, float[] Scales, float[] Values, double MaxAbs);

/// <summary>
/// Quantizes weights and constant operands: one symmetric scale per channel
/// along the axis (max |w| of the channel / qmax), or one for the whole
/// tensor when there is no axis. A channel of zeros gets scale 1, since any
/// scale represents zero exactly and DequantizeLinear needs a non-zero one.
/// </summary>
public static class ConstantQuantizer
{
    public static QuantizedConstant Quantize(TensorProto tensor, BitWidth bits, int? axis)
    {
        var values = TensorData.ReadFloats(tensor);
        var dims = tensor.Dims.ToArray();
        int channelAxis = axis ?? -1;
        int channels = channelAxis >= 0 ? (int)dims[channelAxis] : 1;
        long inner = 1;
        for (int d = channelAxis + 1; channelAxis >= 0 && d < dims.Length; d++)
        {
            inner *= dims[d];
        }

        int Channel(int i) => channelAxis >= 0 ? (int)(i / inner % channels) : 0;

        var grid = new QuantGrid(bits, false);
        var maxAbs = new double[channels];
        for (int i = 0; i < values.Length; i++)
        {
            maxAbs[Channel(i)] = Math.Max(maxAbs[Channel(i)], Math.Abs(values[i]));
        }

        var scales = maxAbs.Select(m => m > 0 ? (float)(m / grid.Max) : 1f).ToArray();
        var quantized = new int[values.Length];
        var dequantized = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            var scale = scales[Channel(i)];
            quantized[i] = grid.Quantize(values[i], scale);

            // float32 product, as DequantizeLinear computes it.
            dequantized[i] = quantized[i] * scale;
        }

        return new QuantizedConstant(quantized, scales, dequantized, maxAbs.Length == 0 ? 0 : maxAbs.Max());
    }
}
