using Kneron.Quantization.Artifacts;

namespace Kneron.Quantization.Tests;

/// <summary>SNR values printed beside the threshold they are compared with.</summary>
public sealed class SnrFormatTests
{
    [Theory]
    // PP-OCR cls in int8 measures 19.996 dB against 20 dB: rounded to 2 decimals both read 20.00.
    [InlineData(19.996, 20.0, "19.996 dB", "20.000 dB")]
    [InlineData(20.004, 20.0, "20.004 dB", "20.000 dB")]
    [InlineData(19.99999, 20.0, "19.99999 dB", "20.00000 dB")]
    // Apart at 2 decimals: no extra digits.
    [InlineData(18.13, 20.0, "18.13 dB", "20.00 dB")]
    [InlineData(19.994, 20.0, "19.99 dB", "20.00 dB")]
    // Equal values read equal.
    [InlineData(20.0, 20.0, "20.00 dB", "20.00 dB")]
    // Closer than 6 decimals show: 6 decimals at most.
    [InlineData(19.9999999, 20.0, "20.000000 dB", "20.000000 dB")]
    [InlineData(double.PositiveInfinity, 20.0, "+∞ dB", "20.00 dB")]
    [InlineData(double.NegativeInfinity, 20.0, "−∞ dB", "20.00 dB")]
    [InlineData(-0.001, 0.0, "-0.001 dB", "0.000 dB")]
    public void DbAgainstShowsValuesApart(double valueDb, double thresholdDb, string expectedValue, string expectedThreshold)
    {
        var (value, threshold) = ReportWriter.DbAgainst(valueDb, thresholdDb);

        Assert.Equal(expectedValue, value);
        Assert.Equal(expectedThreshold, threshold);
    }

    [Fact]
    public void DbRoundsToTwoDecimals()
    {
        Assert.Equal("19.00 dB", ReportWriter.Db(18.996));
        Assert.Equal("0.00 dB", ReportWriter.Db(-0.001));
    }
}
