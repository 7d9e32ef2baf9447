using Kneron.Quantization.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Kneron.Quantization.Simulation;

/// <summary>
/// Creates the ONNX Runtime value of one model input from a sample. Samples
/// hold float32 values (the <c>.npy</c> reader converts float64), so an input
/// of another element type receives them converted, and each value must then
/// be a whole number inside that type's range (0 or 1 for bool).
/// </summary>
internal static class InputTensors
{
    public static OrtValue Create(string inputName, TensorElementType type, float[] values, long[] shape, string source) => type switch
    {
        TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(values, shape),
        TensorElementType.Double => OrtValue.CreateTensorValueFromMemory(values.Select(v => (double)v).ToArray(), shape),
        TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(Whole(values, long.MinValue, long.MaxValue, inputName, "int64", source, v => (long)v), shape),
        TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory(Whole(values, int.MinValue, int.MaxValue, inputName, "int32", source, v => (int)v), shape),
        TensorElementType.Int16 => OrtValue.CreateTensorValueFromMemory(Whole(values, short.MinValue, short.MaxValue, inputName, "int16", source, v => (short)v), shape),
        TensorElementType.Int8 => OrtValue.CreateTensorValueFromMemory(Whole(values, sbyte.MinValue, sbyte.MaxValue, inputName, "int8", source, v => (sbyte)v), shape),
        TensorElementType.UInt64 => OrtValue.CreateTensorValueFromMemory(Whole(values, 0, ulong.MaxValue, inputName, "uint64", source, v => (ulong)v), shape),
        TensorElementType.UInt32 => OrtValue.CreateTensorValueFromMemory(Whole(values, 0, uint.MaxValue, inputName, "uint32", source, v => (uint)v), shape),
        TensorElementType.UInt16 => OrtValue.CreateTensorValueFromMemory(Whole(values, 0, ushort.MaxValue, inputName, "uint16", source, v => (ushort)v), shape),
        TensorElementType.UInt8 => OrtValue.CreateTensorValueFromMemory(Whole(values, 0, byte.MaxValue, inputName, "uint8", source, v => (byte)v), shape),
        TensorElementType.Bool => OrtValue.CreateTensorValueFromMemory(Whole(values, 0, 1, inputName, "bool", source, v => v != 0), shape),
        _ => throw new KnqException(CalibrationCodes.NpyValueNotRepresentable, new SourceLocation(source),
            $"model input '{inputName}' has element type {type}, which .npy samples cannot feed (they hold numbers); only numeric and bool inputs are supported."),
    };

    private static T[] Whole<T>(float[] values, double min, double max, string inputName, string typeName, string source, Func<float, T> convert)
    {
        var result = new T[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            float value = values[i];
            if (value != MathF.Round(value) || value < min || value > max)
            {
                throw new KnqException(CalibrationCodes.NpyValueNotRepresentable, new SourceLocation(source),
                    $"tensor file holds {value} at index {i} for model input '{inputName}', which is {typeName}; "
                    + $"give whole numbers from {min} to {max}, saved as float32 or float64.");
            }

            result[i] = convert(value);
        }

        return result;
    }
}
