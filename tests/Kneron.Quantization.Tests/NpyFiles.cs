using System.Buffers.Binary;
using System.Text;

namespace Kneron.Quantization.Tests;

/// <summary>Builds <c>.npy</c> file bytes by hand, following the NumPy format specification.</summary>
public static class NpyFiles
{
    public static byte[] Build(string descr, string shape, byte[] data, int major = 1, bool fortran = false)
    {
        var dict = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shape}, }}";
        var prefixLength = major == 1 ? 10 : 12;

        // The header (with its trailing newline) pads the data start to a multiple of 64 bytes.
        var padding = 64 - (prefixLength + dict.Length + 1) % 64;
        var header = Encoding.ASCII.GetBytes(dict + new string(' ', padding % 64) + "\n");

        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0 };
        if (major == 1)
        {
            bytes.AddRange(BitConverter.GetBytes((ushort)header.Length));
        }
        else
        {
            bytes.AddRange(BitConverter.GetBytes((uint)header.Length));
        }

        bytes.AddRange(header);
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    public static byte[] Float32(params float[] values)
    {
        var data = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), values[i]);
        }

        return data;
    }

    public static byte[] Float64(params double[] values)
    {
        var data = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(i * 8), values[i]);
        }

        return data;
    }
}
