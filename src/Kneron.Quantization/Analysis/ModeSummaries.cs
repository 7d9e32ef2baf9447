namespace Kneron.Quantization.Analysis;

/// <summary>
/// One bit-width mode an analysis ran, for the SNR–FPS chart and
/// <c>modes_tried</c>: the mode names as written in the config, the
/// minimum output SNR in dB and the estimated FPS. <see cref="Chosen"/>
/// marks the mode whose artifacts were written.
/// </summary>
public sealed record ModeTrial(string DatapathBitwidthMode, string WeightBitwidthMode, double SnrDb, double Fps, bool Chosen);

/// <summary>How the analysis arrived at the mode whose artifacts it wrote.</summary>
public enum ModeChoice
{
    /// <summary>The mode the config names.</summary>
    Configured,

    /// <summary><c>auto</c>'s first mode that met <c>snr_threshold</c>.</summary>
    Auto,

    /// <summary>The cheapest mode of a sweep that met <c>snr_threshold</c>.</summary>
    SweepCheapestPassing,

    /// <summary>No mode of a sweep met <c>snr_threshold</c>, so the last mode tried (the widest) was kept.</summary>
    SweepNonePassed,
}

/// <summary>Messages about the modes an analysis tried.</summary>
public static class ModeMessages
{
    /// <summary>The message of KNQ0507: no mode met the threshold, with every mode tried and its SNR in dB.</summary>
    public static string NoModeMeetsThreshold(Config.Platform platform, double thresholdDb, IEnumerable<ModeTrial> tried)
    {
        var list = string.Join("; ", tried.Select(t => $"{t.DatapathBitwidthMode}/{t.WeightBitwidthMode} {Artifacts.ReportWriter.DbAgainst(t.SnrDb, thresholdDb).Value}"));
        return $"No mode that {platform} runs reaches snr_threshold {Artifacts.ReportWriter.Db(thresholdDb)}: {list}.";
    }
}
