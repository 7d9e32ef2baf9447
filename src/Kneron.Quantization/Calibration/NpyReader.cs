using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Kneron.Quantization.Diagnostics;

namespace Kneron.Quantization.Calibration;

/// <summary>An array read from a <c>.npy</c> file, converted to float32, in C (row-major) order.</summary>
public sealed record NpyArray(IReadOnlyList<long> Shape, string Dtype, float[] Data);

/// <summary>
/// Reads NumPy <c>.npy</c> files (format versions 1.0, 2.0 and 3.0) holding
/// little-endian float32 (<c>&lt;f4</c>) or float64 (<c>&lt;f8</c>, converted
/// to float32) data in C order. Other data types, big-endian data and Fortran
/// order are rejected with a coded error naming the file.
/// </summary>
public static partial class NpyReader
{
    private static readonly byte[] Magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };

    public static NpyArray Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KnqException(CalibrationCodes.FileUnreadable, new SourceLocation(path),
                $"tensor file '{path}' could not be read ({ex.Message}); restore it or remove it from the tensors pattern.", ex);
        }

        return Parse(path, bytes);
    }

    /// <summary>Parses the bytes of a <c>.npy</c> file; <paramref name="path"/> only names the file in errors.</summary>
    public static NpyArray Parse(string path, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 10 || !bytes[..6].SequenceEqual(Magic))
        {
            throw Invalid(path, "it does not start with the .npy magic bytes \\x93NUMPY");
        }

        var major = bytes[6];
        int headerLength;
        int headerStart;
        switch (major)
        {
            case 1:
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]);
                headerStart = 10;
                break;
            case 2 or 3 when bytes.Length >= 12:
                headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]));
                headerStart = 12;
                break;
            default:
                throw Invalid(path, $"format version {major}.{bytes[7]} is not supported (only 1.0, 2.0 and 3.0 are)");
        }

        if (bytes.Length < headerStart + headerLength)
        {
            throw Invalid(path, "the header is cut short");
        }

        // Version 3.0 allows UTF-8 in the header; 1.0 and 2.0 are Latin-1, of which ASCII is all that valid headers use.
        var header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(bytes.Slice(headerStart, headerLength));
        var (dtype, fortranOrder, shape) = ParseHeader(path, header);

        if (fortranOrder)
        {
            throw new KnqException(CalibrationCodes.NpyFortranOrder, new SourceLocation(path),
                $"tensor file '{path}' is stored in Fortran order; save it in C order (numpy.ascontiguousarray) and retry.");
        }

        var elementSize = dtype switch
        {
            "<f4" => 4,
            "<f8" => 8,
            _ => throw new KnqException(CalibrationCodes.NpyUnsupportedDtype, new SourceLocation(path),
                $"tensor file '{path}' has dtype '{dtype}', but only little-endian float32 ('<f4') and float64 ('<f8') are supported; convert it with array.astype(numpy.float32)."),
        };

        long count = 1;
        foreach (var dim in shape)
        {
            count = checked(count * dim);
        }

        var data = bytes[(headerStart + headerLength)..];
        if (data.Length != count * elementSize)
        {
            throw Invalid(path, $"its header declares {count} elements of {elementSize} bytes ({count * elementSize} bytes), but {data.Length} data bytes follow");
        }

        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = elementSize == 4
                ? BinaryPrimitives.ReadSingleLittleEndian(data[(i * 4)..])
                : (float)BinaryPrimitives.ReadDoubleLittleEndian(data[(i * 8)..]);
        }

        return new NpyArray(shape, dtype, values);
    }

    /// <summary>Parses the header, a Python dict literal such as <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (1, 3), }</c>.</summary>
    private static (string Dtype, bool FortranOrder, long[] Shape) ParseHeader(string path, string header)
    {
        var descr = DescrPattern().Match(header);
        var fortran = FortranPattern().Match(header);
        var shape = ShapePattern().Match(header);
        if (!descr.Success || !fortran.Success || !shape.Success)
        {
            throw Invalid(path, "its header lacks 'descr', 'fortran_order' or 'shape'");
        }

        var dims = new List<long>();
        foreach (var part in shape.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!long.TryParse(part.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out var dim))
            {
                throw Invalid(path, $"its header has an invalid shape '({shape.Groups[1].Value})'");
            }

            dims.Add(dim);
        }

        return (descr.Groups[1].Value, fortran.Groups[1].Value == "True", dims.ToArray());
    }

    private static KnqException Invalid(string path, string reason) =>
        new(CalibrationCodes.NpyInvalid, new SourceLocation(path),
            $"tensor file '{path}' is not a valid .npy file: {reason}; write it with numpy.save or remove it.");

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]*)['""]")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
