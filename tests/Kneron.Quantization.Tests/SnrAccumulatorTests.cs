using Kneron.Quantization.Simulation;

namespace Kneron.Quantization.Tests;

public sealed class SnrAccumulatorTests
{
    [Fact]
    public void SnrOverSeveralSamples()
    {
        var snr = new SnrAccumulator();
        snr.Add(new[] { 3f, 4f }, new[] { 3f, 3f });
        snr.Add(new[] { 0f, 10f }, new[] { 1f, 10f });

        // Signal 9 + 16 + 0 + 100 = 125; noise 0 + 1 + 1 + 0 = 2.
        Assert.Equal(10 * Math.Log10(125.0 / 2.0), snr.SnrDb, 1e-12);
    }

    [Fact]
    public void ZeroNoiseIsInfinite()
    {
        var snr = new SnrAccumulator();
        snr.Add(new[] { 1f, -2f }, new[] { 1f, -2f });

        Assert.True(double.IsPositiveInfinity(snr.SnrDb));
    }

    [Fact]
    public void ZeroSignalIsUndefined()
    {
        var snr = new SnrAccumulator();
        snr.Add(new[] { 0f, 0f }, new[] { 0.5f, 0f });

        Assert.True(double.IsNaN(snr.SnrDb));
    }
}
