using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Kneron.Quantization.Cache;

/// <summary>
/// SHA-256 of files, computed once per process: the results-cache key, the
/// analysis and the quantization table all need the hashes of the same model
/// and data files. An entry is reused only while the file's length and
/// last-write time are unchanged.
/// </summary>
public static class FileHashes
{
    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Written), string> Known = new();

    /// <summary>Returns the file's SHA-256 as lowercase hex.</summary>
    public static string Sha256(string path)
    {
        var info = new FileInfo(path);
        var key = (info.FullName, info.Length, info.LastWriteTimeUtc);
        return Known.GetOrAdd(key, static k =>
        {
            using var stream = File.OpenRead(k.Path);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        });
    }
}
