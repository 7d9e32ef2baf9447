using System.Text;
using Google.Protobuf;
using Kneron.Quantization.Analysis;
using Kneron.Quantization.Diagnostics;
using Kneron.Quantization.Model;

namespace Kneron.Quantization.Artifacts;

/// <summary>The paths of one model's artifacts in an output folder.</summary>
public sealed record ArtifactPaths(string Directory, string Name)
{
    public string QuantizedModel => Path.Combine(Directory, Name + ".quant.onnx");

    /// <summary>The quantized model's external data file, written only when the source model keeps its tensors in external data.</summary>
    public string QuantizedModelData => QuantizedModel + ".data";

    public string Table => Path.Combine(Directory, Name + ".quant.json");

    public string Report => Path.Combine(Directory, Name + ".report.html");

    public string FailedReport => Path.Combine(Directory, Name + ".failed.html");

    public string Deps => Path.Combine(Directory, Name + ".deps");

    /// <summary>The files of a passing run; the data file comes before the model, the order in which they are written and copied.</summary>
    public IEnumerable<string> Results => new[] { QuantizedModelData, QuantizedModel, Table, Report };
}

/// <summary>
/// Writes a model's artifacts. Each file is written under a temporary name in
/// the same folder and then moved over the final name, so a reader never sees
/// a half-written file, and two runs writing the same folder leave one run's
/// complete files.
/// </summary>
public static class ArtifactWriter
{
    /// <summary>
    /// Creates the output folder and a file in it, which is deleted at once, so
    /// that a folder without write permission or on a read-only file system
    /// fails before the analysis rather than after it.
    /// </summary>
    public static void CheckWritable(ArtifactPaths paths)
    {
        Guard(paths, () =>
        {
            System.IO.Directory.CreateDirectory(paths.Directory);
            var probe = TemporaryFiles.Create(paths.Deps);
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write))
            {
            }

            File.Delete(probe);
            TemporaryFiles.Release(probe);
        });
    }

    /// <summary>Writes the QDQ model, the table and the report, and removes a failure report left by an earlier run.</summary>
    public static void WriteResults(ArtifactPaths paths, AnalysisResult result, string toolVersion)
    {
        Guard(paths, () =>
        {
            System.IO.Directory.CreateDirectory(paths.Directory);
            WriteQuantizedModel(paths, result.QuantizedModel.Graph);
            WriteAtomically(paths.Table, stream => QuantTableWriter.Write(stream, result, toolVersion));
            WriteAtomically(paths.Report, stream => WriteText(stream, ReportWriter.Render(result, toolVersion, failed: false)));
            File.Delete(paths.FailedReport);
        });
    }

    /// <summary>
    /// Writes the QDQ model. When the source model keeps its tensors in external
    /// data, the large tensors go to <c>&lt;name&gt;.quant.onnx.data</c> beside it,
    /// referred to by file name, and the data file is moved into place before the
    /// model so that a reader of the new model finds its data. Otherwise the model
    /// is one file, and a data file left by an earlier run is removed.
    /// </summary>
    private static void WriteQuantizedModel(ArtifactPaths paths, OnnxGraph graph)
    {
        if (graph.ExternalDataFiles.Count == 0)
        {
            WriteAtomically(paths.QuantizedModel, stream => graph.Model.WriteTo(stream));
            File.Delete(paths.QuantizedModelData);
            return;
        }

        // The copy keeps the analysis's model inline; only the written file refers to the data file.
        var model = graph.Model.Clone();
        WriteAtomically(paths.QuantizedModelData, stream => ExternalData.MoveOut(model, Path.GetFileName(paths.QuantizedModelData), stream));
        WriteAtomically(paths.QuantizedModel, stream => model.WriteTo(stream));
    }

    /// <summary>
    /// Writes the failure report for a run below the SNR threshold and removes
    /// the results of any earlier run, so no later build takes them as current.
    /// </summary>
    public static void WriteFailure(ArtifactPaths paths, AnalysisResult result, string toolVersion)
    {
        Guard(paths, () =>
        {
            RemoveResults(paths);
            System.IO.Directory.CreateDirectory(paths.Directory);
            WriteAtomically(paths.FailedReport, stream => WriteText(stream, ReportWriter.Render(result, toolVersion, failed: true)));
        });
    }

    /// <summary>Removes earlier results of this model; used when a run fails before it has anything to write.</summary>
    public static void RemoveResults(ArtifactPaths paths)
    {
        if (!System.IO.Directory.Exists(paths.Directory))
        {
            return;
        }

        foreach (var path in paths.Results)
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Removes the results and the dependency list after a run that ended with
    /// an error, which may have written some files before it failed (a full
    /// disk, for example), so the folder contains no result of this model.
    /// </summary>
    public static void RemoveAfterError(ArtifactPaths paths)
    {
        if (!System.IO.Directory.Exists(paths.Directory))
        {
            return;
        }

        RemoveResults(paths);
        File.Delete(paths.Deps);
    }

    /// <summary>
    /// Writes the dependency list the build reads to decide whether to run
    /// again: one absolute path per line.
    /// </summary>
    public static void WriteDeps(ArtifactPaths paths, IEnumerable<string> dependencies)
    {
        Guard(paths, () =>
        {
            System.IO.Directory.CreateDirectory(paths.Directory);
            var text = string.Join("\n", dependencies.Distinct(StringComparer.Ordinal)) + "\n";
            WriteAtomically(paths.Deps, stream => WriteText(stream, text));
        });
    }

    /// <summary>
    /// Writes mixbw's ranking as CSV, one file per ranked kind:
    /// <c>data/&lt;name&gt;.sensitivity.csv</c> for datapath widths and
    /// <c>weight/&lt;name&gt;.sensitivity.csv</c> for weight widths, one row per
    /// Conv node, most sensitive (lowest predicted SNR) first. Returns the paths written.
    /// </summary>
    public static IReadOnlyList<string> WriteSensitivity(ArtifactPaths paths, AnalysisResult result)
    {
        var written = new List<string>();
        Guard(paths, () =>
        {
            foreach (var kind in new[] { "datapath", "weight" })
            {
                var rows = result.Sensitivity.Where(s => s.Kind == kind).ToList();
                if (rows.Count == 0)
                {
                    continue;
                }

                var folder = Path.Combine(paths.Directory, kind == "datapath" ? "data" : "weight");
                System.IO.Directory.CreateDirectory(folder);
                var text = new StringBuilder("rank,node,macs,predicted_snr_db,promoted\n");
                for (int i = 0; i < rows.Count; i++)
                {
                    var row = rows[i];
                    var snr = row.SnrDb.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture);
                    text.Append($"{i + 1},{Csv(row.Node)},{row.Macs},{snr},{(row.Promoted ? "true" : "false")}\n");
                }

                var path = Path.Combine(folder, paths.Name + ".sensitivity.csv");
                WriteAtomically(path, stream => WriteText(stream, text.ToString()));
                written.Add(path);
            }
        });
        return written;
    }

    private static string Csv(string value) =>
        value.IndexOfAny(new[] { ',', '"', '\n' }) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;

    /// <summary>Copies a file in under a temporary name and moves it over the destination.</summary>
    public static void CopyIn(string source, string destination)
    {
        var folder = Path.GetDirectoryName(destination)!;
        Guard(new ArtifactPaths(folder, Path.GetFileName(destination)), () =>
        {
            System.IO.Directory.CreateDirectory(folder);
            WriteAtomically(destination, stream =>
            {
                using var input = File.OpenRead(source);
                input.CopyTo(stream);
            });
        });
    }

    private static void WriteAtomically(string path, Action<Stream> write)
    {
        var temporary = TemporaryFiles.Create(path);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                write(stream);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The exception names the temporary file, so the message names the artifact instead.
            throw new KnqException(FileSystemCodes.OutputNotWritable, new SourceLocation(Path.GetDirectoryName(path)!),
                WriteErrorMessages.Message($"Could not write '{path}'", ex), ex);
        }
        finally
        {
            File.Delete(temporary);
            TemporaryFiles.Release(temporary);
        }
    }

    private static void WriteText(Stream stream, string text)
    {
        var bytes = new UTF8Encoding(false).GetBytes(text);
        stream.Write(bytes);
    }

    private static void Guard(ArtifactPaths paths, Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KnqException(FileSystemCodes.OutputNotWritable, new SourceLocation(paths.Directory),
                WriteErrorMessages.Message($"Could not write the artifacts to '{paths.Directory}'", ex), ex);
        }
    }
}
