using System.Globalization;
using Kneron.Quantization.Analysis;
using Kneron.Quantization.Artifacts;
using Kneron.Quantization.Cache;
using Kneron.Quantization.Calibration;
using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;

namespace Kneron.Quantization.Cli;

public sealed record AnalyzeRequest(string ModelPath, string? ConfigPath, string OutputDirectory, IReadOnlyList<string> Overrides, string? OverridesSource,
    bool Sweep = false, string? CacheDirectory = null);

/// <summary>
/// <c>kneron-quant analyze</c>: runs the analysis of one model and writes its
/// artifacts. Exit 0 when every output meets the threshold, 1 when one does
/// not (only <c>&lt;name&gt;.failed.html</c> and <c>&lt;name&gt;.deps</c> are
/// written), 2 on invalid input or a failed write (the model's results and
/// dependency list are removed from the output folder).
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
            var config = LoadConfig(configPath, request.Overrides, overridesSource, diagnostics);
            var (dataFiles, dataFolders) = InputFiles.Of(config);
            var modelDataFiles = Model.ExternalData.ListFiles(request.ModelPath);
            var dependencies = Dependencies(request.ModelPath, modelDataFiles, config, dataFiles, dataFolders);
            ArtifactWriter.CheckWritable(paths);

            var cache = request.CacheDirectory is { Length: > 0 } folder ? new ResultsCache(folder) : null;
            string? key = null;
            var placeholders = new Placeholders(request.ModelPath, config.FilePath, paths.Directory);
            if (cache is not null)
            {
                key = ResultsCache.Key(request.ModelPath, modelDataFiles, config, dataFiles, ToolFiles(), Switches(request, config));
                if (cache.TryGet(key) is { } hit)
                {
                    return Replay(cache, key, hit, paths, dependencies, placeholders);
                }
            }

            diagnostics.Record = true;
            var (exitCode, summary, artifacts) = Analyze(request, config, paths, dependencies, diagnostics);
            if (cache is not null && key is not null)
            {
                var stored = new CachedResult(exitCode, placeholders.Hide(summary), diagnostics.Recorded.Select(placeholders.Hide).ToList(), artifacts.Keys.ToList());
                if (cache.Store(key, stored, artifacts) is { } failure)
                {
                    _error.WriteLine(new Diagnostic(FileSystemCodes.CacheNotWritable, DiagnosticSeverity.Warning, new SourceLocation(cache.Directory),
                        $"Could not store the result in the results cache: {failure} The analysis itself succeeded; check the folder's permissions and free space."));
                }
            }

            return exitCode;
        }
        catch (AlreadyReportedException)
        {
            TryRemoveResults(paths);
            return ExitCodes.InvalidInput;
        }
        catch (KnqException ex)
        {
            _error.WriteLine(ex.Diagnostic);
            TryRemoveResults(paths);
            return ExitCodes.InvalidInput;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A bug, not a user error: report it as one, with the stack trace.
            TryRemoveResults(paths);
            _error.WriteLine(new Diagnostic(GeneralCodes.InternalError, DiagnosticSeverity.Error, new SourceLocation(request.ModelPath),
                $"Internal error in kneron-quant {KneronQuantCommand.ToolVersion}: {ex.GetType().Name}: {ex.Message} Please report it with the trace below."));
            _error.WriteLine(ex.ToString());
            return ExitCodes.InternalError;
        }
    }

    /// <summary>
    /// Loads the config and prints its diagnostics in file order: the loader
    /// reports the later errors of a config with several before it throws
    /// the first, so they are held back until the first is printed.
    /// </summary>
    private static QuantConfig LoadConfig(string path, IReadOnlyList<string> overrides, SourceLocation? overridesSource, IDiagnosticSink diagnostics)
    {
        var held = new DiagnosticBag();
        try
        {
            var config = ConfigLoader.Load(path, overrides, overridesSource, held);
            foreach (var diagnostic in held.Items)
            {
                diagnostics.Report(diagnostic);
            }

            return config;
        }
        catch (KnqException ex)
        {
            diagnostics.Report(ex.Diagnostic);
            foreach (var diagnostic in held.Items)
            {
                diagnostics.Report(diagnostic);
            }

            throw new AlreadyReportedException(ex);
        }
    }

    /// <summary>Runs the analysis and writes its artifacts; returns the exit code, the summary line and the artifacts written (suffix to path).</summary>
    private (int ExitCode, string Summary, Dictionary<string, string> Artifacts) Analyze(
        AnalyzeRequest request, QuantConfig config, ArtifactPaths paths, IReadOnlyList<string> dependencies, PrintingSink diagnostics)
    {
        var analyzer = new Analyzer(diagnostics, message => _output.WriteLine(message));
        var result = analyzer.Analyze(request.ModelPath, config, request.Sweep);

        ArtifactWriter.WriteDeps(paths, dependencies);
        var artifacts = new Dictionary<string, string>();
        if (result.Sensitivity.Count > 0 && (config.Debug.Value || MixBwDebugFromEnvironment()))
        {
            foreach (var csv in ArtifactWriter.WriteSensitivity(paths, result))
            {
                _output.WriteLine($"Wrote mixbw sensitivity to {csv}.");
                artifacts[ArtifactKey(paths, csv)] = csv;
            }
        }

        int exitCode;
        string summary;
        if (result.Passed)
        {
            ArtifactWriter.WriteResults(paths, result, KneronQuantCommand.ToolVersion);
            summary = Summary(result, paths.QuantizedModel);
            _output.WriteLine(summary);
            exitCode = ExitCodes.Passed;
        }
        else
        {
            (exitCode, summary) = ReportLowSnr(result, paths, diagnostics);
        }

        foreach (var path in paths.Results.Append(paths.FailedReport).Where(File.Exists))
        {
            artifacts[ArtifactKey(paths, path)] = path;
        }

        return (exitCode, summary, artifacts);
    }

    /// <summary>
    /// Replays a cached result: copies its artifacts under this model's names,
    /// writes the dependency list, prints its diagnostics and summary with this
    /// run's paths, and returns its exit code.
    /// </summary>
    private int Replay(ResultsCache cache, string key, CachedResult hit, ArtifactPaths paths, IReadOnlyList<string> dependencies, Placeholders placeholders)
    {
        ArtifactWriter.RemoveResults(paths);
        ArtifactWriter.WriteDeps(paths, dependencies);
        for (int i = 0; i < hit.Artifacts.Count; i++)
        {
            var relative = hit.Artifacts[i].Replace("{name}", paths.Name, StringComparison.Ordinal);
            ArtifactWriter.CopyIn(cache.ArtifactPath(key, i), Path.Combine(paths.Directory, relative));
        }

        foreach (var line in hit.Diagnostics)
        {
            _error.WriteLine(placeholders.Show(line));
        }

        _output.WriteLine($"Results cache hit in {cache.Directory} (key {key[..12]}); the analysis was not run again.");
        // The summary's time is that of the cached analysis. The note after it keeps readers from taking it for this run's.
        _output.WriteLine(placeholders.Show(hit.Summary) + " (the time of the cached analysis; this run copied its results)");
        return hit.ExitCode;
    }

    /// <summary>An artifact's path relative to the output folder, with the model's name as <c>{name}</c>, so another name can take it.</summary>
    private static string ArtifactKey(ArtifactPaths paths, string path)
    {
        var relative = Path.GetRelativePath(paths.Directory, path).Replace('\\', '/');
        var fileName = Path.GetFileName(relative);
        return relative[..^fileName.Length] + "{name}" + fileName[paths.Name.Length..];
    }

    /// <summary>The switches besides files that change a result: sweep, and mixbw's debug output.</summary>
    private static string Switches(AnalyzeRequest request, QuantConfig config) =>
        $"sweep={request.Sweep};mixbw_debug={config.Debug.Value || MixBwDebugFromEnvironment()}";

    /// <summary>The tool's own assemblies: a new build of the tool must not reuse old results.</summary>
    private static IEnumerable<string> ToolFiles() => new[]
    {
        typeof(Analyzer).Assembly.Location,
        typeof(AnalyzeCommand).Assembly.Location,
    };

    /// <summary>
    /// Paths that differ between runs with identical inputs (model, config, output
    /// folder), swapped for placeholders in cached lines and back on replay.
    /// </summary>
    private sealed record Placeholders(string ModelPath, string ConfigPath, string OutputDirectory)
    {
        public string Hide(string line) => line
            .Replace(OutputDirectory, "{output}", StringComparison.Ordinal)
            .Replace(ConfigPath, "{config}", StringComparison.Ordinal)
            .Replace(ModelPath, "{model}", StringComparison.Ordinal);

        public string Show(string line) => line
            .Replace("{output}", OutputDirectory, StringComparison.Ordinal)
            .Replace("{config}", ConfigPath, StringComparison.Ordinal)
            .Replace("{model}", ModelPath, StringComparison.Ordinal);
    }

    /// <summary>
    /// Reports each output below the threshold at the <c>snr_threshold</c> key.
    /// With <c>on_low_snr: warning</c> they are warnings and the artifacts are
    /// written as usual; otherwise only the failure report is written.
    /// </summary>
    private (int ExitCode, string Summary) ReportLowSnr(AnalysisResult result, ArtifactPaths paths, PrintingSink diagnostics)
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
        if (result.ModeChoice == ModeChoice.SweepNonePassed)
        {
            // As with auto, one message lists every mode tried, since no mode was chosen for its outputs' SNR.
            diagnostics.Report(new Diagnostic(ModeCodes.NoModeMeetsThreshold, severity, config.SnrThresholdDb.Location,
                $"{ModeMessages.NoModeMeetsThreshold(config.Platform.Value, result.SnrThresholdDb, result.ModesTried)} "
                + $"The artifacts are those of the widest mode ({ModeName(result)}). Noisiest layers: {worstLayers}. "
                + $"Lower snr_threshold, or improve the calibration set (more and more typical samples, percentage: 1.0 for detection models); details in {reportPath}."));
        }

        var lowOutputs = result.ModeChoice == ModeChoice.SweepNonePassed ? Enumerable.Empty<OutputSnr>() : result.Outputs.Where(o => o.SnrDb < result.SnrThresholdDb);
        foreach (var output in lowOutputs)
        {
            var (snr, threshold) = ReportWriter.DbAgainst(output.SnrDb, result.SnrThresholdDb);
            diagnostics.Report(new Diagnostic(SimulationCodes.SnrBelowThreshold, severity, config.SnrThresholdDb.Location,
                $"SNR of output '{output.Name}'{MeasuredOn(output)} is {snr}, below snr_threshold {threshold} "
                + $"({ModeName(result)} on KL{(int)config.Platform.Value}). Noisiest layers: {worstLayers}. "
                + $"Try a wider mode (int16, or percentage: 1.0 for detection models) or lower snr_threshold; details in {reportPath}."));
        }

        var summary = Summary(result, asWarning ? paths.QuantizedModel : paths.FailedReport);
        _output.WriteLine(summary);
        return (asWarning ? ExitCodes.Passed : ExitCodes.BelowThreshold, summary);
    }

    /// <summary>Kneron's switch for mixbw debugging output: <c>MIXBW_DEBUG=True</c> (any case, or 1).</summary>
    private static bool MixBwDebugFromEnvironment() =>
        Environment.GetEnvironmentVariable("MIXBW_DEBUG") is { } value
        && (value.Equals("true", StringComparison.OrdinalIgnoreCase) || value == "1");

    /// <summary>Every file the result depends on, for the build's incremental check: the model and its external data files first.</summary>
    private static IReadOnlyList<string> Dependencies(string modelPath, IReadOnlyList<string> modelDataFiles, QuantConfig config,
        IReadOnlyList<string> dataFiles, IReadOnlyList<string> dataFolders) =>
        new[] { Path.GetFullPath(modelPath) }
            .Concat(modelDataFiles)
            .Append(config.FilePath)
            .Concat(dataFiles)
            .Concat(dataFolders)
            .Concat(ToolFiles())
            .ToList();

    private static string ModeName(AnalysisResult result) =>
        $"datapath {Planning.ModeResolver.ModeName(result.Mode.Datapath)}, weight {Planning.ModeResolver.ModeName(result.Mode.Weight)}"
        + result.ModeChoice switch
        {
            ModeChoice.Auto => " (chosen by auto)",
            ModeChoice.SweepCheapestPassing => " (cheapest passing mode of the sweep)",
            ModeChoice.SweepNonePassed => " (the widest mode of the sweep; no mode passed)",
            _ => "",
        };

    /// <summary>The one line per model the build relays: mode, SNR per output, estimated FPS, artifact and time.</summary>
    public static string Summary(AnalysisResult result, string artifactPath)
    {
        var snrs = string.Join(", ", result.Outputs.Select(o => $"{o.Name} {ReportWriter.DbAgainst(o.SnrDb, result.SnrThresholdDb).Value}{MeasuredOn(o)}"));
        var verdict = result.Passed ? "passed" : "below threshold";
        var (minimum, threshold) = ReportWriter.DbAgainst(result.SnrDb, result.SnrThresholdDb);
        return $"{Path.GetFileName(result.ModelPath)}: KL{(int)result.Config.Platform.Value} {ModeName(result)}; SNR {snrs}; "
            + $"min {minimum} vs threshold {threshold} ({verdict}); "
            + (result.FpsEstimate is { } fps ? $"~{fps.Fps.ToString("0", CultureInfo.InvariantCulture)} FPS (estimate); " : "")
            + $"{artifactPath}; {result.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s";
    }

    /// <summary>Names the tensor an output's SNR was measured on, when it is another tensor (a decision output's compared tensor).</summary>
    private static string MeasuredOn(OutputSnr output) =>
        output.EvaluatedTensor == output.Name ? "" : $" (measured on {output.EvaluatedTensor})";

    private void TryRemoveResults(ArtifactPaths paths)
    {
        try
        {
            ArtifactWriter.RemoveAfterError(paths);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _error.WriteLine(new Diagnostic(FileSystemCodes.OutputNotWritable, DiagnosticSeverity.Warning, new SourceLocation(paths.Directory),
                $"Could not remove earlier results from '{paths.Directory}': {ex.Message} Delete them by hand before the next build."));
        }
    }

    /// <summary>A coded error that was already printed, with the errors reported beside it.</summary>
    private sealed class AlreadyReportedException(KnqException inner) : Exception(inner.Message, inner);

    /// <summary>Prints each diagnostic to standard error as it is reported.</summary>
    private sealed class PrintingSink : IDiagnosticSink
    {
        private readonly TextWriter _writer;
        private readonly List<string> _recorded = new();

        public PrintingSink(TextWriter writer) => _writer = writer;

        /// <summary>Whether printed lines are also kept, for the results cache.</summary>
        public bool Record { get; set; }

        public IReadOnlyList<string> Recorded => _recorded;

        public void Report(Diagnostic diagnostic)
        {
            var line = diagnostic.ToString();
            _writer.WriteLine(line);
            if (Record)
            {
                _recorded.Add(line);
            }
        }
    }
}
