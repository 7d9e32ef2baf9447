namespace Kneron.Quantization.Calibration;

/// <summary>
/// One sample: a float32 tensor per model input, in the input's shape, row-major.
/// <see cref="Sources"/> names the file(s) it came from, for error messages.
/// </summary>
public sealed record Sample(IReadOnlyDictionary<string, float[]> Inputs, IReadOnlyList<string> Sources);
