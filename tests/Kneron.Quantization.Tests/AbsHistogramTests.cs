using Kneron.Quantization.Ranges;

namespace Kneron.Quantization.Tests;

public sealed class AbsHistogramTests
{
    [Theory]
    [InlineData(0.5)]
    [InlineData(0.999)]
    [InlineData(0.999999)]
    public void QuantileMatchesSortedValues(double p)
    {
        var random = new Random(7);
        var histogram = new AbsHistogram();
        var all = new List<float>();

        // Batches with growing spread force the limit to double several times.
        for (int batch = 0; batch < 8; batch++)
        {
            var values = Enumerable.Range(0, 50_000).Select(_ => (float)(Gaussian(random) * (1 << batch))).ToArray();
            histogram.Add(values);
            all.AddRange(values);
        }

        var sorted = all.Select(Math.Abs).Order().ToArray();
        double exact = sorted[(int)Math.Ceiling(p * sorted.Length) - 1];
        double binWidth = histogram.Limit / AbsHistogram.BinCount;

        Assert.Equal(all.Count, histogram.Count);
        Assert.InRange(histogram.Quantile(p), exact - binWidth, exact + binWidth);
    }

    [Fact]
    public void QuantileOneIsExactMaximum()
    {
        var histogram = new AbsHistogram();
        histogram.Add(new[] { 0.5f, -3.25f, 1.0f });
        histogram.Add(new[] { 2.0f });

        Assert.Equal(3.25, histogram.Quantile(1.0));
        Assert.Equal(-3.25, histogram.Min);
        Assert.Equal(2.0, histogram.Max);
    }

    [Fact]
    public void ZerosBeforeFirstValueAreCounted()
    {
        var histogram = new AbsHistogram();
        histogram.Add(new float[1000]);
        histogram.Add(new[] { 1.0f });

        // 1000 of 1001 values are zero, so the 0.9 quantile lies in the first bin and the maximum is 1.
        Assert.Equal(1001, histogram.Count);
        Assert.InRange(histogram.Quantile(0.9), 0.0, histogram.Limit / AbsHistogram.BinCount);
        Assert.Equal(1.0, histogram.Quantile(1.0));
    }

    [Fact]
    public void NonFiniteValuesAreCountedNotBinned()
    {
        var histogram = new AbsHistogram();
        histogram.Add(new[] { 1.0f, float.NaN, float.PositiveInfinity, -2.0f });

        Assert.Equal(2, histogram.NonFiniteCount);
        Assert.Equal(2, histogram.Count);
        Assert.Equal(2.0, histogram.MaxAbs);
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
