namespace Kneron.Quantization.Diagnostics;

/// <summary>Diagnostic codes of file-system faults and the results cache (KNQ0800–KNQ0899).</summary>
public static class FileSystemCodes
{
    /// <summary>An artifact could not be written to the output folder (permissions, disk full).</summary>
    public const string OutputNotWritable = "KNQ0801";

    /// <summary>Warning: a result could not be stored in the results cache; the analysis itself succeeded.</summary>
    public const string CacheNotWritable = "KNQ0802";
}
