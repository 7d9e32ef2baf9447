using System.Runtime.InteropServices;

namespace Kneron.Quantization.Analysis;

/// <summary>
/// The float model's values of the evaluated tensors, per evaluation sample,
/// kept in a temporary file that is deleted on dispose, so memory stays flat
/// however many samples there are. The file is written once, during the
/// calibration pass, and read back in sample order by each simulation pass.
/// </summary>
internal sealed class ReferenceStore : IDisposable
{
    private readonly FileStream _file;
    private readonly List<long> _offsets = new();

    public ReferenceStore(IReadOnlyList<string> names)
    {
        Names = names;
        var path = Path.Combine(Path.GetTempPath(), $"kneron-references-{Environment.ProcessId}-{Guid.NewGuid():N}.bin");
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
    }

    public IReadOnlyList<string> Names { get; }

    public int Count => _offsets.Count;

    /// <summary>Appends one sample's values, one span per name in <see cref="Names"/> order.</summary>
    public void Append(Func<string, ReadOnlySpan<float>> values)
    {
        _file.Seek(0, SeekOrigin.End);
        _offsets.Add(_file.Position);
        Span<byte> length = stackalloc byte[4];
        foreach (var name in Names)
        {
            var span = values(name);
            BitConverter.TryWriteBytes(length, span.Length);
            _file.Write(length);
            _file.Write(MemoryMarshal.AsBytes(span));
        }
    }

    /// <summary>Reads sample <paramref name="index"/>'s values, name to values.</summary>
    public Dictionary<string, float[]> Read(int index)
    {
        _file.Seek(_offsets[index], SeekOrigin.Begin);
        var result = new Dictionary<string, float[]>(Names.Count);
        Span<byte> length = stackalloc byte[4];
        foreach (var name in Names)
        {
            _file.ReadExactly(length);
            var values = new float[BitConverter.ToInt32(length)];
            _file.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
            result[name] = values;
        }

        return result;
    }

    public void Dispose() => _file.Dispose();
}
