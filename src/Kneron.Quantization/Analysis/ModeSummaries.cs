namespace Kneron.Quantization.Analysis;

/// <summary>
/// One bit-width mode an analysis ran, for the SNR–FPS chart and
/// <c>modes_tried</c>: the mode names as written in the config, the
/// minimum output SNR in dB and the estimated FPS. <see cref="Chosen"/>
/// marks the mode whose artifacts were written.
/// </summary>
public sealed record ModeTrial(string DatapathBitwidthMode, string WeightBitwidthMode, double SnrDb, double Fps, bool Chosen);
