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

        // Blocks of SIMD lanes are summed in float and each block's sum is added in double. A block is
        // short (at most 4096 values), so float rounding stays far below the 0.01 dB reported.
        var (signal, noise, done) = VectorSums(reference, quantized);
        if (!double.IsFinite(signal))
        {
            // A NaN or infinity in the reference: take the exact path, which skips and counts them.
            (signal, noise, done) = (0, 0, 0);
        }

        for (int i = done; i < reference.Length; i++)
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

    private static (double Signal, double Noise, int Done) VectorSums(ReadOnlySpan<float> reference, ReadOnlySpan<float> quantized)
    {
        int lanes = System.Numerics.Vector<float>.Count;
        if (!System.Numerics.Vector.IsHardwareAccelerated)
        {
            return (0, 0, 0);
        }

        const int block = 4096;
        double signal = 0, noise = 0;
        int i = 0;
        while (i + lanes <= reference.Length)
        {
            var vsignal = System.Numerics.Vector<float>.Zero;
            var vnoise = System.Numerics.Vector<float>.Zero;
            int end = Math.Min(reference.Length - lanes, i + block);
            for (; i <= end; i += lanes)
            {
                var f = new System.Numerics.Vector<float>(reference[i..]);
                var d = f - new System.Numerics.Vector<float>(quantized[i..]);
                vsignal += f * f;
                vnoise += d * d;
            }

            signal += System.Numerics.Vector.Sum(vsignal);
            noise += System.Numerics.Vector.Sum(vnoise);
        }

        return (signal, noise, i);
    }

    /// <summary>SNR in dB; +∞ when the noise is exactly zero, NaN when there is no signal.</summary>
    public double SnrDb => SignalPower == 0 ? double.NaN
        : NoisePower == 0 ? double.PositiveInfinity
        : 10 * Math.Log10(SignalPower / NoisePower);
}
