namespace Kneron.Quantization.Ranges;

/// <summary>
/// A streamed histogram of |x| over every value of one tensor, from which the
/// clipping threshold at a quantile (Kneron's <c>percentage</c>) is read.
/// The bins cover [0, <see cref="Limit"/>). When a value beyond the limit
/// arrives, the limit doubles and adjacent bin pairs merge, which is exact:
/// no count moves to a bin it did not belong to. The bin width is therefore
/// at most 2·max|x| / <see cref="BinCount"/>.
/// </summary>
public sealed class AbsHistogram
{
    public const int BinCount = 16384;

    private readonly long[] _bins = new long[BinCount];

    public double Limit { get; private set; }

    public long Count { get; private set; }

    /// <summary>Largest |x| seen, exactly.</summary>
    public double MaxAbs { get; private set; }

    public double Min { get; private set; } = double.PositiveInfinity;

    public double Max { get; private set; } = double.NegativeInfinity;

    /// <summary>Number of NaN or infinite values seen; they are not binned.</summary>
    public long NonFiniteCount { get; private set; }

    public void Add(ReadOnlySpan<float> values)
    {
        var (batchMin, batchMax, batchNonFinite) = Extremes(values);
        float batchMaxAbs = batchNonFinite == values.Length ? 0 : Math.Max(Math.Abs(batchMin), Math.Abs(batchMax));

        NonFiniteCount += batchNonFinite;
        Min = Math.Min(Min, batchMin);
        Max = Math.Max(Max, batchMax);
        MaxAbs = Math.Max(MaxAbs, batchMaxAbs);
        GrowTo(batchMaxAbs);

        if (Limit == 0)
        {
            // Every value so far is zero: keep them in bin 0.
            _bins[0] += values.Length - batchNonFinite;
            Count += values.Length - batchNonFinite;
            return;
        }

        float binsPerUnit = (float)(BinCount / Limit);
        int lastBin = BinCount - 1;
        if (batchNonFinite == 0)
        {
            foreach (var v in values)
            {
                _bins[Math.Min((int)(Math.Abs(v) * binsPerUnit), lastBin)]++;
            }

            Count += values.Length;
            return;
        }

        foreach (var v in values)
        {
            if (float.IsFinite(v))
            {
                _bins[Math.Min((int)(Math.Abs(v) * binsPerUnit), lastBin)]++;
                Count++;
            }
        }
    }

    /// <summary>
    /// Minimum and maximum of the finite values and the number of NaN and
    /// infinite ones, with SIMD where the hardware has it: the common case of
    /// all-finite data costs one vectorized pass.
    /// </summary>
    private static (float Min, float Max, int NonFinite) Extremes(ReadOnlySpan<float> values)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated && values.Length >= System.Numerics.Vector<float>.Count)
        {
            var vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(values);
            var vmin = new System.Numerics.Vector<float>(float.PositiveInfinity);
            var vmax = new System.Numerics.Vector<float>(float.NegativeInfinity);
            var notANumber = System.Numerics.Vector<int>.Zero;
            foreach (var v in vectors)
            {
                vmin = System.Numerics.Vector.Min(vmin, v);
                vmax = System.Numerics.Vector.Max(vmax, v);

                // A NaN is the only value not equal to itself; SIMD min and max may drop it.
                notANumber |= ~System.Numerics.Vector.Equals(v, v);
            }

            if (notANumber != System.Numerics.Vector<int>.Zero)
            {
                min = float.NaN;
            }

            for (int lane = 0; lane < System.Numerics.Vector<float>.Count; lane++)
            {
                min = Math.Min(min, vmin[lane]);
                max = Math.Max(max, vmax[lane]);
            }

            i = vectors.Length * System.Numerics.Vector<float>.Count;
        }

        for (; i < values.Length; i++)
        {
            min = Math.Min(min, values[i]);
            max = Math.Max(max, values[i]);
        }

        // NaN or ±∞ anywhere leaves a non-finite extreme; only then is the exact count needed.
        if (float.IsFinite(min) && float.IsFinite(max))
        {
            return (min, max, 0);
        }

        int nonFinite = 0;
        min = float.PositiveInfinity;
        max = float.NegativeInfinity;
        foreach (var v in values)
        {
            if (!float.IsFinite(v))
            {
                nonFinite++;
                continue;
            }

            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        return (min, max, nonFinite);
    }

    /// <summary>
    /// The p-quantile of |x|: the smallest threshold t such that a share p of
    /// all values has |x| ≤ t, interpolated linearly inside the bin. p = 1
    /// returns the exact maximum.
    /// </summary>
    public double Quantile(double p)
    {
        if (Count == 0 || MaxAbs == 0)
        {
            return 0;
        }

        if (p >= 1)
        {
            return MaxAbs;
        }

        double target = p * Count;
        double binWidth = Limit / BinCount;
        long cumulative = 0;
        for (int i = 0; i < BinCount; i++)
        {
            if (cumulative + _bins[i] >= target)
            {
                double inside = _bins[i] == 0 ? 0 : (target - cumulative) / _bins[i];
                return Math.Min(MaxAbs, (i + inside) * binWidth);
            }

            cumulative += _bins[i];
        }

        return MaxAbs;
    }

    private void GrowTo(double maxAbs)
    {
        if (maxAbs == 0)
        {
            return;
        }

        if (Limit == 0)
        {
            // The first non-zero value fixes the scale; zeros seen so far stay in bin 0.
            Limit = maxAbs * 1.0000001;
            return;
        }

        while (maxAbs >= Limit)
        {
            for (int i = 0; i < BinCount / 2; i++)
            {
                _bins[i] = _bins[2 * i] + _bins[2 * i + 1];
            }

            Array.Clear(_bins, BinCount / 2, BinCount / 2);
            Limit *= 2;
        }
    }
}
