using Kneron.Quantization.Diagnostics;

namespace Kneron.Quantization.Calibration;

/// <summary>
/// How one model input gets its data: its files (already cut to the sample
/// count) and either the image preprocessing or, for tensor files, the shape
/// they must have.
/// </summary>
internal sealed record InputFeed(ModelInput Input, IReadOnlyList<string> Files, ImageFeed? Image);

/// <summary>
/// The calibration (or evaluation) samples of one model. Files are decoded
/// one sample at a time as <see cref="Enumerate"/> runs, so memory contains one
/// sample whatever the set's size.
/// </summary>
public sealed class SampleSet
{
    private readonly IReadOnlyList<InputFeed> _feeds;

    internal SampleSet(IReadOnlyList<InputFeed> feeds, int count, IReadOnlyList<string> matchedFiles, IReadOnlyList<string> watchedFolders)
    {
        _feeds = feeds;
        Count = count;
        MatchedFiles = matchedFiles;
        WatchedFolders = watchedFolders;
        UsedFiles = feeds.SelectMany(f => f.Files).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Every file the patterns matched, used or not, as sorted full paths; the build tracks them all.</summary>
    public IReadOnlyList<string> MatchedFiles { get; }

    /// <summary>The files the samples are read from (the first <c>max_samples</c> of each input's matches), as sorted full paths.</summary>
    public IReadOnlyList<string> UsedFiles { get; }

    /// <summary>
    /// Number of samples. With several inputs it is the smallest of the
    /// inputs' file counts (each after <c>max_samples</c>), and sample i takes
    /// file i of each input.
    /// </summary>
    public int Count { get; }

    /// <summary>Folders the patterns searched, as sorted full paths; adding or removing a file there can change the set.</summary>
    public IReadOnlyList<string> WatchedFolders { get; }

    /// <summary>
    /// Reads the samples in order, one at a time. Each enumeration reads the
    /// files again and yields the same data.
    /// </summary>
    /// <exception cref="KnqException">A file cannot be decoded or has the wrong shape or type.</exception>
    public IEnumerable<Sample> Enumerate()
    {
        for (var i = 0; i < Count; i++)
        {
            var inputs = new Dictionary<string, float[]>(StringComparer.Ordinal);
            var sources = new List<string>(_feeds.Count);
            foreach (var feed in _feeds)
            {
                var file = feed.Files[i];
                inputs[feed.Input.Name] = feed.Image is { } image ? ImageTensorizer.Load(file, image) : ReadTensor(file, feed.Input);
                sources.Add(file);
            }

            yield return new Sample(inputs, sources);
        }
    }

    /// <summary>Reads a <c>.npy</c> file whose shape is the input's shape, or that shape without its leading batch dimension.</summary>
    private static float[] ReadTensor(string path, ModelInput input)
    {
        var array = NpyReader.Read(path);
        var expected = input.Shape;
        var matches = array.Shape.SequenceEqual(expected)
            || (expected.Count > 0 && array.Shape.SequenceEqual(expected.Skip(1)));
        if (!matches)
        {
            var withoutBatch = expected.Count > 0 ? $" or {FormatShape(expected.Skip(1).ToList())}" : "";
            throw new KnqException(CalibrationCodes.NpyShapeMismatch, new SourceLocation(path),
                $"tensor file '{path}' has shape {FormatShape(array.Shape)} ({array.Dtype}), but model input '{input.Name}' expects {FormatShape(expected)}{withoutBatch} (float32); save the array with that shape.");
        }

        return array.Data;
    }

    internal static string FormatShape(IReadOnlyList<long> shape) => $"[{string.Join(", ", shape)}]";
}
