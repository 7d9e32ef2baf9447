using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Kneron.Quantization.Artifacts;
using Kneron.Quantization.Config;

namespace Kneron.Quantization.Cache;

/// <summary>
/// A finished analysis as the cache keeps it: the exit code, the diagnostic
/// lines and summary line printed, with the paths of the run replaced by
/// placeholders, and the artifacts stored, as paths relative to the output
/// folder with <c>{name}</c> for the model's name (such as <c>{name}.quant.onnx</c>).
/// </summary>
public sealed record CachedResult(int ExitCode, string Summary, IReadOnlyList<string> Diagnostics, IReadOnlyList<string> Artifacts);

/// <summary>
/// A content-addressed store of analysis results, so that a clean build, or
/// another project with identical inputs, reuses an analysis instead of
/// repeating it. The key is the SHA-256 of everything the result depends on:
/// the tool's assemblies, the model's bytes and those of its external data files
/// (and then the model's file name), the config's bytes and the
/// overrides, every data file the config names, and the switches that change
/// results (sweep, MIXBW_DEBUG). Entries are written to a temporary folder
/// and renamed into place, so concurrent builds never see half an entry; the
/// first to finish wins. Nothing is ever evicted: delete the folder to reclaim space.
/// </summary>
public sealed class ResultsCache
{
    private const string ResultFile = "result.json";

    public ResultsCache(string directory) => Directory = Path.GetFullPath(directory);

    public string Directory { get; }

    /// <param name="modelDataFiles">The model's external data files (full paths); none for a model stored in one file, whose key is unchanged by them.</param>
    public static string Key(string modelPath, IEnumerable<string> modelDataFiles, QuantConfig config, IEnumerable<string> dataFiles, IEnumerable<string> toolFiles, string switches)
    {
        var text = new StringBuilder();
        text.Append("kneron-build-cache-v1\n");
        foreach (var file in toolFiles.Order(StringComparer.Ordinal))
        {
            text.Append("tool ").Append(FileHashes.Sha256(file)).Append('\n');
        }

        text.Append("model ").Append(FileHashes.Sha256(modelPath)).Append('\n');
        var modelFolder = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        foreach (var file in modelDataFiles.Order(StringComparer.Ordinal))
        {
            text.Append("model-data ").Append(Path.GetRelativePath(modelFolder, file).Replace('\\', '/')).Append(' ').Append(FileHashes.Sha256(file)).Append('\n');
        }

        // The quantized model refers to its data file, <name>.quant.onnx.data, by the model's file name,
        // so a cached model with external data is valid only under the same name.
        if (modelDataFiles.Any())
        {
            text.Append("model-name ").Append(Path.GetFileNameWithoutExtension(modelPath)).Append('\n');
        }

        text.Append("config ").Append(config.Sha256).Append('\n');
        foreach (var value in config.Overrides)
        {
            text.Append("set ").Append(value).Append('\n');
        }

        // Data files are keyed by content and by their path relative to the config, since
        // the order of samples (ordinal path order) changes results.
        foreach (var file in dataFiles.Order(StringComparer.Ordinal))
        {
            text.Append("data ").Append(Path.GetRelativePath(config.BaseDirectory, file).Replace('\\', '/')).Append(' ').Append(FileHashes.Sha256(file)).Append('\n');
        }

        text.Append("switches ").Append(switches).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>Returns the entry for <paramref name="key"/>, or null when there is none (or it cannot be read).</summary>
    public CachedResult? TryGet(string key)
    {
        var path = Path.Combine(EntryFolder(key), ResultFile);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<CachedResult>(File.ReadAllText(path));
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The stored copy of the entry's artifact number <paramref name="index"/> (its place in <see cref="CachedResult.Artifacts"/>).</summary>
    public string ArtifactPath(string key, int index) => Path.Combine(EntryFolder(key), $"artifact{index}");

    /// <summary>
    /// Stores a result and copies its artifacts (key to source path, in the order of
    /// <see cref="CachedResult.Artifacts"/>) into
    /// the entry. Failures to write the cache are returned, not thrown: the
    /// analysis itself succeeded.
    /// </summary>
    public string? Store(string key, CachedResult result, IReadOnlyDictionary<string, string> artifacts)
    {
        var final = EntryFolder(key);
        var temporary = TemporaryFiles.Create(final);
        try
        {
            System.IO.Directory.CreateDirectory(temporary);
            for (int i = 0; i < result.Artifacts.Count; i++)
            {
                File.Copy(artifacts[result.Artifacts[i]], Path.Combine(temporary, $"artifact{i}"));
            }

            File.WriteAllText(Path.Combine(temporary, ResultFile), JsonSerializer.Serialize(result));
            if (System.IO.Directory.Exists(final))
            {
                System.IO.Directory.Delete(temporary, recursive: true);
                return null;
            }

            System.IO.Directory.Move(temporary, final);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            return ex.Message;
        }
        finally
        {
            TemporaryFiles.Release(temporary);
        }
    }

    private string EntryFolder(string key) => Path.Combine(Directory, key[..2], key);

    private static void TryDelete(string folder)
    {
        try
        {
            if (System.IO.Directory.Exists(folder))
            {
                System.IO.Directory.Delete(folder, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A leftover temporary folder only costs disk space; it is never read as an entry.
        }
    }
}
