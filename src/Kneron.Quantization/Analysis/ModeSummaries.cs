namespace Kneron.Quantization.Analysis;

/// <summary>
/// One bit-width mode an analysis ran, for the SNR–FPS chart and
/// <c>modes_tried</c>: the mode names as written in the config, the
/// minimum output SNR in dB and the estimated FPS. <see cref="Chosen"/>
/// marks the mode whose artifacts were written.
/// </summary>
public sealed record ModeTrial(string DatapathBitwidthMode, string WeightBitwidthMode, double SnrDb, double Fps, bool Chosen);

/// <summary>Whether a sensitivity point ranks a Conv's datapath (output) width or its weight width.</summary>
public enum SensitivityKind
{
    Data,
    Weight,
}

/// <summary>
/// The predicted model-output SNR in dB with only <see cref="Node"/>'s
/// datapath or weight at 8 bits and every other tensor at 16 bits (mixbw
/// sensitivity); a lower SNR means a more sensitive node.
/// </summary>
public sealed record SensitivityPoint(string Node, SensitivityKind Kind, double SnrDb);
