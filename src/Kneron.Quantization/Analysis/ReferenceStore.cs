using System.Runtime.InteropServices;
using Kneron.Quantization.Calibration;

namespace Kneron.Quantization.Analysis;

/// <summary>
/// The evaluation samples' input tensors and the float model's values of the
/// evaluated tensors, kept in a temporary file that is deleted on dispose, so
/// memory stays flat however many samples there are and no image is decoded
/// twice. The file is written once, during the calibration pass, and read
/// back in sample order by each simulation pass.
/// </summary>
internal sealed class ReferenceStore : IDisposable
{
    private readonly FileStream _file;
    private readonly List<long> _offsets = new();
    private readonly List<long> _inputOffsets = new();
    private readonly List<IReadOnlyList<string>> _sources = new();

    public ReferenceStore(IReadOnlyList<string> names)
    {
        Names = names;
        var path = Path.Combine(Path.GetTempPath(), $"kneron-references-{Environment.ProcessId}-{Guid.NewGuid():N}.bin");
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        if (!OperatingSystem.IsWindows())
        {
            // The open handle keeps the data, so the name can go now: a process ended by a signal,
            // which skips DeleteOnClose, then leaves no file of the size of all references behind.
            // Windows deletes a DeleteOnClose file itself when the process ends.
            File.Delete(path);
        }
    }

    public IReadOnlyList<string> Names { get; }

    public int Count => _offsets.Count;

    /// <summary>Appends one sample: its inputs, and its values of <see cref="Names"/> (one span per name, in order).</summary>
    public void Append(Sample sample, Func<string, ReadOnlySpan<float>> values)
    {
        _file.Seek(0, SeekOrigin.End);
        _inputOffsets.Add(_file.Position);
        _sources.Add(sample.Sources);
        WriteInt(sample.Inputs.Count);
        foreach (var (name, input) in sample.Inputs)
        {
            WriteString(name);
            WriteFloats(input);
        }

        _offsets.Add(_file.Position);
        foreach (var name in Names)
        {
            WriteFloats(values(name));
        }
    }

    /// <summary>The stored samples, read back one at a time in the order they were appended.</summary>
    public IEnumerable<Sample> Samples()
    {
        for (int index = 0; index < Count; index++)
        {
            _file.Seek(_inputOffsets[index], SeekOrigin.Begin);
            int count = ReadInt();
            var inputs = new Dictionary<string, float[]>(count);
            for (int i = 0; i < count; i++)
            {
                var name = ReadString();
                inputs[name] = ReadFloats();
            }

            yield return new Sample(inputs, _sources[index]);
        }
    }

    /// <summary>Reads sample <paramref name="index"/>'s values, name to values.</summary>
    public Dictionary<string, float[]> Read(int index)
    {
        _file.Seek(_offsets[index], SeekOrigin.Begin);
        var result = new Dictionary<string, float[]>(Names.Count);
        foreach (var name in Names)
        {
            result[name] = ReadFloats();
        }

        return result;
    }

    private void WriteInt(int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BitConverter.TryWriteBytes(bytes, value);
        _file.Write(bytes);
    }

    private void WriteString(string value)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(value);
        WriteInt(bytes.Length);
        _file.Write(bytes);
    }

    private void WriteFloats(ReadOnlySpan<float> values)
    {
        WriteInt(values.Length);
        _file.Write(MemoryMarshal.AsBytes(values));
    }

    private int ReadInt()
    {
        Span<byte> bytes = stackalloc byte[4];
        _file.ReadExactly(bytes);
        return BitConverter.ToInt32(bytes);
    }

    private string ReadString()
    {
        var bytes = new byte[ReadInt()];
        _file.ReadExactly(bytes);
        return System.Text.Encoding.UTF8.GetString(bytes);
    }

    private float[] ReadFloats()
    {
        var values = new float[ReadInt()];
        _file.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    public void Dispose() => _file.Dispose();
}
