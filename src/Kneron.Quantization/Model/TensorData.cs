using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Kneron.Quantization.Model;

/// <summary>Reads and writes the values of ONNX <see cref="TensorProto"/> initializers.</summary>
public static class TensorData
{
    public const int FloatType = (int)TensorProto.Types.DataType.Float;

    public static bool IsFloat(TensorProto tensor) => tensor.DataType == FloatType;

    /// <summary>Returns a float tensor's values, from <c>raw_data</c> or <c>float_data</c>.</summary>
    public static float[] ReadFloats(TensorProto tensor)
    {
        if (tensor.DataType != FloatType)
        {
            throw new InvalidOperationException($"Tensor '{tensor.Name}' is not float32 (data type {tensor.DataType}).");
        }

        if (!tensor.RawData.IsEmpty)
        {
            return MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();
        }

        return tensor.FloatData.ToArray();
    }

    public static long ElementCount(TensorProto tensor)
    {
        long count = 1;
        foreach (var dim in tensor.Dims)
        {
            count *= dim;
        }

        return count;
    }

    public static TensorProto CreateFloat(string name, IReadOnlyList<long> dims, ReadOnlySpan<float> values)
    {
        var tensor = new TensorProto { Name = name, DataType = FloatType };
        tensor.Dims.AddRange(dims);
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values));
        return tensor;
    }

    /// <summary>
    /// Creates an integer tensor of the given ONNX data type from values that
    /// already lie in its range. int4 and uint4 are packed two to a byte, low
    /// nibble first, as the ONNX spec lays them out.
    /// </summary>
    public static TensorProto CreateInteger(string name, TensorProto.Types.DataType type, IReadOnlyList<long> dims, ReadOnlySpan<int> values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type };
        tensor.Dims.AddRange(dims);
        byte[] bytes;
        switch (type)
        {
            case TensorProto.Types.DataType.Int8:
            case TensorProto.Types.DataType.Uint8:
                bytes = new byte[values.Length];
                for (int i = 0; i < values.Length; i++)
                {
                    bytes[i] = unchecked((byte)values[i]);
                }

                break;
            case TensorProto.Types.DataType.Int16:
            case TensorProto.Types.DataType.Uint16:
                bytes = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++)
                {
                    var v = unchecked((ushort)values[i]);
                    bytes[2 * i] = (byte)(v & 0xFF);
                    bytes[2 * i + 1] = (byte)(v >> 8);
                }

                break;
            case TensorProto.Types.DataType.Int4:
            case TensorProto.Types.DataType.Uint4:
                bytes = new byte[(values.Length + 1) / 2];
                for (int i = 0; i < values.Length; i++)
                {
                    var nibble = (byte)(values[i] & 0x0F);
                    bytes[i / 2] |= (byte)(i % 2 == 0 ? nibble : nibble << 4);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "Unsupported quantized data type.");
        }

        tensor.RawData = ByteString.CopyFrom(bytes);
        return tensor;
    }
}
