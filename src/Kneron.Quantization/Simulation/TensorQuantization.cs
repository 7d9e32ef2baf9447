using Kneron.Quantization.Config;

namespace Kneron.Quantization.Simulation;

/// <summary>
/// How one tensor is quantized, in both conventions the quantization table
/// records: ONNX's <c>real = (q − zero_point) × scale</c> and Kneron's
/// <c>real = q / kneron_scale / 2^radix</c>, where radix is the largest
/// integer with 2^radix ≤ 1/scale, so kneron_scale lies in [1, 2).
/// Lists have one entry per channel along <see cref="Axis"/>, or one entry.
/// </summary>
public sealed record TensorQuantization(
    string Name,
    string Kind,
    string Role,
    BitWidth Bits,
    bool Unsigned,
    IReadOnlyList<double> Scales,
    IReadOnlyList<int> ZeroPoints,
    int? Axis,
    double RangeMin,
    double RangeMax,
    IReadOnlyList<int> Radix,
    IReadOnlyList<double> KneronScale)
{
    public static (IReadOnlyList<int> Radix, IReadOnlyList<double> KneronScale) ToKneron(IReadOnlyList<double> scales)
    {
        var radix = new int[scales.Count];
        var kneronScale = new double[scales.Count];
        for (int i = 0; i < scales.Count; i++)
        {
            double inverse = 1.0 / scales[i];
            radix[i] = (int)Math.Floor(Math.Log2(inverse));
            kneronScale[i] = inverse / Math.Pow(2, radix[i]);
        }

        return (radix, kneronScale);
    }
}
