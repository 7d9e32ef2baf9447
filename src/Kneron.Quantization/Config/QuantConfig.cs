using Kneron.Quantization.Diagnostics;

namespace Kneron.Quantization.Config;

/// <summary>
/// A config value with the place it came from, so that a later check (a
/// platform rule, a low SNR) can point at the YAML key that set it. For a
/// value left at its default, <see cref="IsSet"/> is false and the location
/// is the config file's (1,1).
/// </summary>
public readonly record struct Located<T>(T Value, SourceLocation Location, bool IsSet)
{
    public override string ToString() => Value?.ToString() ?? "";
}

/// <summary>Kneron NPU platforms, named by their chip number.</summary>
public enum Platform
{
    KL520 = 520,
    KL530 = 530,
    KL630 = 630,
    KL720 = 720,
    KL730 = 730,
}

/// <summary>Bit width of one quantized tensor.</summary>
public enum BitWidth
{
    Int4 = 4,
    Int8 = 8,
    Int16 = 16,

    /// <summary>Only for biases, stored as int32 on the grid of input scale × weight scale.</summary>
    Int32 = 32,
}

/// <summary>
/// A <c>datapath_bitwidth_mode</c> or <c>weight_bitwidth_mode</c> value.
/// YAML spellings: <c>int4</c>, <c>int8</c>, <c>int16</c>, <c>mix light</c>,
/// <c>mix balance</c>, <c>mixbw</c>, <c>auto</c> (datapath only).
/// </summary>
public enum BitwidthMode
{
    Int4,
    Int8,
    Int16,
    MixLight,
    MixBalance,
    MixBw,
    Auto,
}

public enum RangeMethod
{
    Percentage,
    Minmax,
    Mmse,
}

public enum ResizeMode
{
    Stretch,
    Letterbox,
    CenterCrop,
}

public enum ChannelOrder
{
    RGB,
    BGR,
}

public enum TensorLayout
{
    NCHW,
    NHWC,
}

public enum LowSnrAction
{
    Error,
    Warning,
}

/// <summary>
/// Where samples come from and how images become tensors (the
/// <c>calibration</c> section, and the <c>evaluation</c> section, which
/// inherits the preprocessing of <c>calibration</c>).
/// </summary>
public sealed class SampleSourceConfig
{
    /// <summary>Image globs or paths, relative to the YAML file's folder (empty when tensors are used).</summary>
    public Located<IReadOnlyList<string>> Images { get; init; }

    /// <summary><c>.npy</c> globs or paths, relative to the YAML file's folder.</summary>
    public Located<IReadOnlyList<string>> Tensors { get; init; }

    /// <summary>The first N matched files are used (in ordinal path order); null means all.</summary>
    public Located<int?> MaxSamples { get; init; }

    /// <summary>Target width and height in pixels; null means the model input's.</summary>
    public Located<(int Width, int Height)?> Resize { get; init; }

    public Located<ResizeMode> ResizeMode { get; init; }

    public Located<ChannelOrder> ChannelOrder { get; init; }

    /// <summary>Null means inferred from the model input's channel dimension.</summary>
    public Located<TensorLayout?> Layout { get; init; }

    /// <summary>Per-channel values subtracted from 0–255 pixel values (1, 3 or 4 entries).</summary>
    public Located<IReadOnlyList<float>> Mean { get; init; }

    /// <summary>Per-channel divisors applied after the mean (1, 3 or 4 entries).</summary>
    public Located<IReadOnlyList<float>> Std { get; init; }

    /// <summary>Evaluation only: tensor names to compute SNR on instead of the model outputs.</summary>
    public Located<IReadOnlyList<string>> Outputs { get; init; }

    /// <summary>Location of the section's own key, for errors about the section as a whole.</summary>
    public SourceLocation Location { get; init; }
}

/// <summary>The <c>inputs.&lt;name&gt;</c> entry: a fixed shape and, for models with several inputs, its own samples.</summary>
public sealed class InputConfig
{
    public required string Name { get; init; }

    public SourceLocation Location { get; init; }

    /// <summary>The full shape, each entry positive; replaces dynamic dimensions of the model input.</summary>
    public Located<IReadOnlyList<long>?> Shape { get; init; }

    /// <summary>This input's own calibration source; null means the top-level <c>calibration</c>.</summary>
    public SampleSourceConfig? Calibration { get; init; }
}

/// <summary>
/// One model's quantization config, as read from <c>&lt;name&gt;.quant.yaml</c>
/// and the command line's <c>--set</c> overrides. Keys mirror the Kneron
/// toolchain's <c>analysis()</c> parameters in snake_case.
/// </summary>
public sealed class QuantConfig
{
    /// <summary>Full path of the YAML file.</summary>
    public required string FilePath { get; init; }

    /// <summary>Folder that relative paths in the config resolve against.</summary>
    public string BaseDirectory => Path.GetDirectoryName(FilePath) ?? ".";

    public Located<Platform> Platform { get; init; }

    public Located<BitwidthMode> DatapathBitwidthMode { get; init; }

    public Located<BitwidthMode> WeightBitwidthMode { get; init; }

    public Located<BitWidth> ModelInBitwidthMode { get; init; }

    public Located<BitWidth> ModelOutBitwidthMode { get; init; }

    public Located<BitWidth> CpuNodeBitwidthMode { get; init; }

    public Located<BitWidth> ConstInBitwidthMode { get; init; }

    /// <summary>mixbw's budget: share of all Conv FLOPs that may run in 16 bit (0 &lt; x ≤ 1).</summary>
    public Located<double> FlopsRatio { get; init; }

    public Located<RangeMethod> DatapathRangeMethod { get; init; }

    /// <summary>Quantile of |x| used as the int8 clipping range (0 &lt; p ≤ 1).</summary>
    public Located<double> Percentage { get; init; }

    /// <summary>Quantile of |x| used as the int16 clipping range (≥ <see cref="Percentage"/>).</summary>
    public Located<double> Percentage16b { get; init; }

    public Located<double> Percentile { get; init; }

    public Located<double> OutlierFactor { get; init; }

    public Located<int> MixLightMaxChannels { get; init; }

    public Located<double> MixLightFlopsRatio { get; init; }

    public Located<double> MixBalanceFlopsRatio { get; init; }

    public Located<bool> Debug { get; init; }

    /// <summary>Minimum SNR in dB that every evaluated output must reach.</summary>
    public Located<double> SnrThresholdDb { get; init; }

    public Located<LowSnrAction> OnLowSnr { get; init; }

    public required SampleSourceConfig Calibration { get; init; }

    /// <summary>Separate samples for SNR; null means the calibration samples.</summary>
    public SampleSourceConfig? Evaluation { get; init; }

    public IReadOnlyDictionary<string, InputConfig> Inputs { get; init; } = new Dictionary<string, InputConfig>();

    /// <summary>
    /// Per-node bit-width overrides (<c>quan_config</c>), node name to raw
    /// settings. Parsed only as far as the platform rule needs.
    /// </summary>
    public Located<IReadOnlyDictionary<string, string>?> QuanConfig { get; init; }

    /// <summary>SHA-256 (lowercase hex) of the YAML file's bytes.</summary>
    public string Sha256 { get; init; } = "";

    /// <summary>The <c>--set</c> overrides applied, as <c>key=value</c>, for the results cache and the report.</summary>
    public IReadOnlyList<string> Overrides { get; init; } = Array.Empty<string>();
}
