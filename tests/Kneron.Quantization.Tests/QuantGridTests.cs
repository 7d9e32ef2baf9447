using Kneron.Quantization.Config;
using Kneron.Quantization.Simulation;

namespace Kneron.Quantization.Tests;

public sealed class QuantGridTests
{
    [Theory]
    [InlineData(BitWidth.Int8, false, -128, 127)]
    [InlineData(BitWidth.Int8, true, 0, 255)]
    [InlineData(BitWidth.Int16, false, -32768, 32767)]
    [InlineData(BitWidth.Int16, true, 0, 65535)]
    [InlineData(BitWidth.Int4, false, -8, 7)]
    public void RangeOfEachWidth(BitWidth bits, bool unsigned, int min, int max)
    {
        var grid = new QuantGrid(bits, unsigned);

        Assert.Equal(min, grid.Min);
        Assert.Equal(max, grid.Max);
    }

    [Theory]
    [InlineData(2.5, 2)]
    [InlineData(3.5, 4)]
    [InlineData(-2.5, -2)]
    [InlineData(1000.0, 127)]
    [InlineData(-1000.0, -128)]
    public void QuantizeRoundsHalfToEvenThenSaturates(double value, int expected)
    {
        var grid = new QuantGrid(BitWidth.Int8, false);

        Assert.Equal(expected, grid.Quantize(value, 1.0));
    }

    [Fact]
    public void KneronRadixAndScaleRebuildTheScale()
    {
        var (radix, kneronScale) = TensorQuantization.ToKneron(new[] { 0.02, 1.0 / 256 });

        // 1/0.02 = 50 = 1.5625 · 2^5; 256 = 1 · 2^8.
        Assert.Equal(5, radix[0]);
        Assert.Equal(1.5625, kneronScale[0], 1e-12);
        Assert.Equal(8, radix[1]);
        Assert.Equal(1.0, kneronScale[1], 1e-12);
    }
}
