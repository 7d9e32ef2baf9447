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
        float batchMaxAbs = 0;
        float batchMin = float.PositiveInfinity;
        float batchMax = float.NegativeInfinity;
        int batchNonFinite = 0;
        foreach (var v in values)
        {
            if (!float.IsFinite(v))
            {
                batchNonFinite++;
                continue;
            }

            batchMin = Math.Min(batchMin, v);
            batchMax = Math.Max(batchMax, v);
            batchMaxAbs = Math.Max(batchMaxAbs, Math.Abs(v));
        }

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

        double binsPerUnit = BinCount / Limit;
        foreach (var v in values)
        {
            if (!float.IsFinite(v))
            {
                continue;
            }

            int bin = (int)(Math.Abs(v) * binsPerUnit);
            _bins[Math.Min(bin, BinCount - 1)]++;
            Count++;
        }
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
