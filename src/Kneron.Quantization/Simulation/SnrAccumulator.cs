namespace Kneron.Quantization.Simulation;

/// <summary>
/// Accumulates SNR = 10·log10(Σ f² / Σ (f − q)²) in dB over every element of
/// every sample, f the float reference and q the simulated quantized value.
/// Sums are kept in double precision.
/// </summary>
public sealed class SnrAccumulator
{
    public double SignalPower { get; private set; }

    public double NoisePower { get; private set; }

    public long NonFiniteCount { get; private set; }

    public void Add(ReadOnlySpan<float> reference, ReadOnlySpan<float> quantized)
    {
        if (reference.Length != quantized.Length)
        {
            throw new ArgumentException($"Reference has {reference.Length} values but the quantized tensor has {quantized.Length}.");
        }

        double signal = 0, noise = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double f = reference[i];
            if (!double.IsFinite(f))
            {
                NonFiniteCount++;
                continue;
            }

            double d = f - quantized[i];
            signal += f * f;
            noise += d * d;
        }

        SignalPower += signal;
        NoisePower += noise;
    }

    /// <summary>SNR in dB; +∞ when the noise is exactly zero, NaN when there is no signal.</summary>
    public double SnrDb => SignalPower == 0 ? double.NaN
        : NoisePower == 0 ? double.PositiveInfinity
        : 10 * Math.Log10(SignalPower / NoisePower);
}
