using System.Reflection;
using System.Text.Json;
using Kneron.Quantization.Config;

namespace Kneron.Quantization.Performance;

/// <summary>
/// Which ONNX operators each platform's NPU runs, from Kneron's published
/// operator table (embedded <c>Data/operators.json</c>, which names its source).
/// The table's per-operator conditions, such as kernel or stride limits, are
/// not checked, so a node that breaks one is still counted as an NPU node.
/// </summary>
public sealed class NpuOperatorTable
{
    private const string ResourceName = "Kneron.Quantization.Performance.Data.operators.json";

    private static readonly Lazy<NpuOperatorTable> LazyDefault = new(Load);

    private readonly Dictionary<string, HashSet<int>> _platformsByOperator;
    private readonly HashSet<string> _foldedOperators;
    private readonly string _foldedAs;

    private NpuOperatorTable(Dictionary<string, HashSet<int>> platformsByOperator, HashSet<string> foldedOperators, string foldedAs, string source)
    {
        _platformsByOperator = platformsByOperator;
        _foldedOperators = foldedOperators;
        _foldedAs = foldedAs;
        Source = source;
    }

    /// <summary>The table embedded in this assembly.</summary>
    public static NpuOperatorTable Default => LazyDefault.Value;

    /// <summary>Where the table comes from, for reports.</summary>
    public string Source { get; }

    /// <summary>
    /// Whether <paramref name="platform"/>'s NPU runs operators of type
    /// <paramref name="opType"/> (default ONNX domain). Identity, Dropout,
    /// Squeeze and Unsqueeze take Reshape's entry, because they only relabel
    /// or pass their input.
    /// </summary>
    public bool RunsOnNpu(string opType, Platform platform)
    {
        var entry = _foldedOperators.Contains(opType) ? _foldedAs : opType;
        return _platformsByOperator.TryGetValue(entry, out var platforms) && platforms.Contains((int)platform);
    }

    private static NpuOperatorTable Load()
    {
        using var stream = typeof(NpuOperatorTable).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{ResourceName}' is missing from {typeof(NpuOperatorTable).Assembly.GetName().Name}.");
        using var document = JsonDocument.Parse(stream);
        var root = document.RootElement;

        var platformsByOperator = new Dictionary<string, HashSet<int>>(StringComparer.Ordinal);
        foreach (var entry in root.GetProperty("npu_operators").EnumerateObject())
        {
            platformsByOperator[entry.Name] = entry.Value.EnumerateArray().Select(p => p.GetInt32()).ToHashSet();
        }

        var folded = root.GetProperty("folded_operators");
        var foldedOperators = folded.GetProperty("operators").EnumerateArray().Select(o => o.GetString()!).ToHashSet(StringComparer.Ordinal);
        return new NpuOperatorTable(platformsByOperator, foldedOperators, folded.GetProperty("treated_as").GetString()!, root.GetProperty("source").GetString()!);
    }
}
