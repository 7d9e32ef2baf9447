using System.Globalization;
using Kneron.Quantization.Analysis;
using Kneron.Quantization.Artifacts;
using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;

namespace Kneron.Quantization.Cli;

public sealed record AnalyzeRequest(string ModelPath, string? ConfigPath, string OutputDirectory, IReadOnlyList<string> Overrides, string? OverridesSource, bool Sweep = false);

/// <summary>
/// <c>kneron-quant analyze</c>: runs the analysis of one model and writes its
/// artifacts. Exit 0 when every output meets the threshold, 1 when one does
/// not (only <c>&lt;name&gt;.failed.html</c> is written), 2 on invalid input
/// (nothing is written, and earlier results of the model are removed).
/// </summary>
public sealed class AnalyzeCommand
{
    private readonly TextWriter _output;
    private readonly TextWriter _error;

    public AnalyzeCommand(TextWriter output, TextWriter error)
    {
        _output = output;
        _error = error;
    }

    public int Execute(AnalyzeRequest request)
    {
        var name = Path.GetFileNameWithoutExtension(request.ModelPath);
        var paths = new ArtifactPaths(request.OutputDirectory, name);
        var configPath = request.ConfigPath ?? Path.Combine(Path.GetDirectoryName(request.ModelPath) ?? ".", name + ".quant.yaml");
        var diagnostics = new PrintingSink(_error);

        try
        {
            if (File.Exists(request.OutputDirectory))
            {
                throw new KnqException(FileSystemCodes.OutputNotWritable, new SourceLocation(request.OutputDirectory),
                    $"The output folder '{request.OutputDirectory}' is a file. Pass a folder with --output.");
            }

            var overridesSource = request.OverridesSource is null ? (SourceLocation?)null : new SourceLocation(request.OverridesSource);
            var config = ConfigLoader.Load(configPath, request.Overrides, overridesSource, diagnostics);
            var analyzer = new Analyzer(diagnostics, message => _output.WriteLine(message));
            var result = analyzer.Analyze(request.ModelPath, config, request.Sweep);

            ArtifactWriter.WriteDeps(paths, Dependencies(result));
            if (result.Sensitivity.Count > 0 && (config.Debug.Value || MixBwDebugFromEnvironment()))
            {
                foreach (var csv in ArtifactWriter.WriteSensitivity(paths, result))
                {
                    _output.WriteLine($"Wrote mixbw sensitivity to {csv}.");
                }
            }

            if (result.Passed)
            {
                ArtifactWriter.WriteResults(paths, result, KneronQuantCommand.ToolVersion);
                _output.WriteLine(Summary(result, paths.QuantizedModel));
                return ExitCodes.Passed;
            }

            return ReportLowSnr(result, paths, diagnostics);
        }
        catch (KnqException ex)
        {
            TryRemoveResults(paths);
            _error.WriteLine(ex.Diagnostic);
            return ExitCodes.InvalidInput;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A bug, not a user error: say so, with the stack trace for the report.
            TryRemoveResults(paths);
            _error.WriteLine(new Diagnostic(GeneralCodes.InternalError, DiagnosticSeverity.Error, new SourceLocation(request.ModelPath),
                $"Internal error in kneron-quant {KneronQuantCommand.ToolVersion}: {ex.GetType().Name}: {ex.Message} Please report it with the trace below."));
            _error.WriteLine(ex.ToString());
            return ExitCodes.InternalError;
        }
    }

    /// <summary>
    /// Reports each output below the threshold at the <c>snr_threshold</c> key.
    /// With <c>on_low_snr: warning</c> they are warnings and the artifacts are
    /// written as usual; otherwise only the failure report is written.
    /// </summary>
    private int ReportLowSnr(AnalysisResult result, ArtifactPaths paths, PrintingSink diagnostics)
    {
        var config = result.Config;
        bool asWarning = config.OnLowSnr.Value == LowSnrAction.Warning;
        var severity = asWarning ? DiagnosticSeverity.Warning : DiagnosticSeverity.Error;
        var worstLayers = string.Join(", ", result.Layers
            .Where(l => l.SnrDbLocal is not null)
            .OrderBy(l => l.SnrDbLocal)
            .Take(3)
            .Select(l => $"{l.Node} ({ReportWriter.Db(l.SnrDbLocal!.Value)} local)"));

        if (asWarning)
        {
            ArtifactWriter.WriteResults(paths, result, KneronQuantCommand.ToolVersion);
        }
        else
        {
            ArtifactWriter.WriteFailure(paths, result, KneronQuantCommand.ToolVersion);
        }

        var reportPath = asWarning ? paths.Report : paths.FailedReport;
        foreach (var output in result.Outputs.Where(o => o.SnrDb < result.SnrThresholdDb))
        {
            diagnostics.Report(new Diagnostic(SimulationCodes.SnrBelowThreshold, severity, config.SnrThresholdDb.Location,
                $"SNR of output '{output.Name}' is {ReportWriter.Db(output.SnrDb)}, below snr_threshold {ReportWriter.Db(result.SnrThresholdDb)} "
                + $"({ModeName(result)} on KL{(int)config.Platform.Value}). Noisiest layers: {worstLayers}. "
                + $"Try a wider mode (int16, or percentage: 1.0 for detection models) or lower snr_threshold; details in {reportPath}."));
        }

        _output.WriteLine(Summary(result, asWarning ? paths.QuantizedModel : paths.FailedReport));
        return asWarning ? ExitCodes.Passed : ExitCodes.BelowThreshold;
    }

    /// <summary>Kneron's switch for mixbw debugging output: <c>MIXBW_DEBUG=True</c> (any case, or 1).</summary>
    private static bool MixBwDebugFromEnvironment() =>
        Environment.GetEnvironmentVariable("MIXBW_DEBUG") is { } value
        && (value.Equals("true", StringComparison.OrdinalIgnoreCase) || value == "1");

    /// <summary>Every file the result depends on, for the build's incremental check.</summary>
    private static IEnumerable<string> Dependencies(AnalysisResult result)
    {
        yield return result.ModelPath;
        yield return result.Config.FilePath;
        foreach (var file in result.Calibration.MatchedFiles.Concat(result.Evaluation?.MatchedFiles ?? Array.Empty<string>()))
        {
            yield return file;
        }

        foreach (var folder in result.Calibration.WatchedFolders.Concat(result.Evaluation?.WatchedFolders ?? Array.Empty<string>()))
        {
            yield return folder;
        }

        yield return typeof(Analyzer).Assembly.Location;
        yield return typeof(AnalyzeCommand).Assembly.Location;
    }

    private static string ModeName(AnalysisResult result) =>
        $"datapath {Planning.ModeResolver.ModeName(result.Mode.Datapath)}, weight {Planning.ModeResolver.ModeName(result.Mode.Weight)}"
        + (result.Config.DatapathBitwidthMode.Value == Config.BitwidthMode.Auto ? " (chosen by auto)" : "");

    /// <summary>The one line per model the build relays: mode, SNR per output, estimated FPS, artifact and time.</summary>
    public static string Summary(AnalysisResult result, string artifactPath)
    {
        var snrs = string.Join(", ", result.Outputs.Select(o => $"{o.Name} {ReportWriter.Db(o.SnrDb)}"));
        var verdict = result.Passed ? "passed" : "below threshold";
        return $"{Path.GetFileName(result.ModelPath)}: KL{(int)result.Config.Platform.Value} {ModeName(result)}; SNR {snrs}; "
            + $"min {ReportWriter.Db(result.SnrDb)} vs threshold {ReportWriter.Db(result.SnrThresholdDb)} ({verdict}); "
            + (result.FpsEstimate is { } fps ? $"~{fps.Fps.ToString("0", CultureInfo.InvariantCulture)} FPS (estimate); " : "")
            + $"{artifactPath}; {result.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s";
    }

    private void TryRemoveResults(ArtifactPaths paths)
    {
        try
        {
            ArtifactWriter.RemoveResults(paths);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _error.WriteLine(new Diagnostic(FileSystemCodes.OutputNotWritable, DiagnosticSeverity.Warning, new SourceLocation(paths.Directory),
                $"Could not remove earlier results from '{paths.Directory}': {ex.Message} Delete them by hand before the next build."));
        }
    }

    /// <summary>Prints each diagnostic to standard error as it is reported.</summary>
    private sealed class PrintingSink : IDiagnosticSink
    {
        private readonly TextWriter _writer;

        public PrintingSink(TextWriter writer) => _writer = writer;

        public void Report(Diagnostic diagnostic) => _writer.WriteLine(diagnostic);
    }
}
