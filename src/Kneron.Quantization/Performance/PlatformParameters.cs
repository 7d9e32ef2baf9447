using System.Text.Json;
using Kneron.Quantization.Config;

namespace Kneron.Quantization.Performance;

/// <summary>One roofline parameter with its basis (published, assumption or fitted) and source.</summary>
public sealed record PlatformParameter(double Value, string Basis, string Source);

/// <summary>
/// The roofline parameters of one platform, from the embedded
/// <c>Data/platforms.json</c>. Peak int8 throughput is
/// <see cref="MacsPerCycle"/> × <see cref="ClockHz"/> MACs per second;
/// <see cref="OnChipBufferBytes"/> is the size of the SRAM for activations
/// between layers and for the tiles of a layer's operands.
/// </summary>
public sealed record PlatformParameters(
    Platform Platform,
    PlatformParameter MacsPerCycle,
    PlatformParameter ClockHz,
    PlatformParameter BandwidthBytesPerSecond,
    PlatformParameter Int16ThroughputFactor,
    PlatformParameter Int4ThroughputFactor,
    PlatformParameter ComputeEfficiency,
    PlatformParameter MemoryEfficiency,
    PlatformParameter OnChipBufferBytes)
{
    private const string ResourceName = "Kneron.Quantization.Performance.Data.platforms.json";

    private static readonly Lazy<IReadOnlyDictionary<Platform, PlatformParameters>> LazyAll = new(Load);

    /// <summary>Every platform's parameters as embedded in this assembly.</summary>
    public static IReadOnlyDictionary<Platform, PlatformParameters> All => LazyAll.Value;

    public static PlatformParameters For(Platform platform) => All[platform];

    /// <summary>Effective int8 MACs per second: peak × compute efficiency.</summary>
    public double EffectiveInt8MacsPerSecond => MacsPerCycle.Value * ClockHz.Value * ComputeEfficiency.Value;

    /// <summary>Effective DRAM bandwidth in bytes per second: peak × memory efficiency.</summary>
    public double EffectiveBandwidthBytesPerSecond => BandwidthBytesPerSecond.Value * MemoryEfficiency.Value;

    /// <summary>The parameters with their basis, named as in the data file, for the artifacts.</summary>
    public IEnumerable<(string Name, PlatformParameter Parameter)> Named()
    {
        yield return ("macs_per_cycle", MacsPerCycle);
        yield return ("clock_hz", ClockHz);
        yield return ("bandwidth_bytes_per_second", BandwidthBytesPerSecond);
        yield return ("int16_throughput_factor", Int16ThroughputFactor);
        yield return ("int4_throughput_factor", Int4ThroughputFactor);
        yield return ("compute_efficiency", ComputeEfficiency);
        yield return ("memory_efficiency", MemoryEfficiency);
        yield return ("on_chip_buffer_bytes", OnChipBufferBytes);
    }

    private static IReadOnlyDictionary<Platform, PlatformParameters> Load()
    {
        using var stream = typeof(PlatformParameters).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{ResourceName}' is missing from {typeof(PlatformParameters).Assembly.GetName().Name}.");
        using var document = JsonDocument.Parse(stream);
        var result = new Dictionary<Platform, PlatformParameters>();
        foreach (var entry in document.RootElement.GetProperty("platforms").EnumerateObject())
        {
            var platform = (Platform)int.Parse(entry.Name, System.Globalization.CultureInfo.InvariantCulture);
            PlatformParameter Read(string name)
            {
                var value = entry.Value.GetProperty(name);
                return new PlatformParameter(value.GetProperty("value").GetDouble(), value.GetProperty("basis").GetString()!, value.GetProperty("source").GetString()!);
            }

            result[platform] = new PlatformParameters(platform, Read("macs_per_cycle"), Read("clock_hz"), Read("bandwidth_bytes_per_second"),
                Read("int16_throughput_factor"), Read("int4_throughput_factor"), Read("compute_efficiency"), Read("memory_efficiency"), Read("on_chip_buffer_bytes"));
        }

        foreach (var platform in Enum.GetValues<Platform>().Where(p => !result.ContainsKey(p)))
        {
            throw new InvalidOperationException($"Embedded resource '{ResourceName}' has no parameters for platform {(int)platform}.");
        }

        return result;
    }
}
