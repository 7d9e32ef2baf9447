using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Kneron.Corpus.Tests;

/// <summary>
/// Runs <c>kneron-quant analyze</c> on every model of the ONNX operator test
/// corpus (Debian's libonnx-testdata) and checks that each run either
/// analyses the model (exit 0 or 1) or reports a coded error (exit 2 with a
/// KNQ line), never crashes (exit 3 or any other code) and never hangs.
/// </summary>
public sealed partial class CorpusSweepTests
{
    /// <summary>Where Debian's libonnx-testdata puts the models; KNERON_ONNX_TESTDATA overrides it.</summary>
    private const string DefaultCorpus = "/usr/share/libonnx-testdata/data";

    /// <summary>Per-model limit. The largest corpus models analyse in a few seconds, so this only catches hangs.</summary>
    private static readonly TimeSpan ModelTimeout = TimeSpan.FromSeconds(60);

    private const int Workers = 2;

    [Fact]
    public void CorpusHasNoCrashOrHang()
    {
        var corpus = Environment.GetEnvironmentVariable("KNERON_ONNX_TESTDATA") ?? DefaultCorpus;
        Assert.True(Directory.Exists(corpus),
            $"The ONNX test corpus was not found at '{corpus}'. Install it with 'apt-get install -y libonnx-testdata' (or set KNERON_ONNX_TESTDATA to its data folder).");

        // KNERON_CORPUS_FILTER (a substring of the model's path) reruns a few models by hand.
        var filter = Environment.GetEnvironmentVariable("KNERON_CORPUS_FILTER");
        var models = Directory.EnumerateFiles(corpus, "model.onnx", SearchOption.AllDirectories)
            .Where(path => filter is null || path.Contains(filter, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (filter is null)
        {
            // libonnx-testdata 1.12 has 1072 models; far fewer means the package is broken or the search is.
            Assert.True(models.Count >= 900, $"Only {models.Count} model.onnx files were found under '{corpus}'; reinstall libonnx-testdata.");
        }

        var tool = CliProcess.FindToolDll();
        var workRoot = Path.Combine(Path.GetTempPath(), "knq-corpus-" + Guid.NewGuid().ToString("N"));
        var outcomes = new ConcurrentBag<Outcome>();
        var watch = Stopwatch.StartNew();
        try
        {
            Parallel.ForEach(models, new ParallelOptions { MaxDegreeOfParallelism = Workers }, model =>
            {
                outcomes.Add(RunOne(tool, corpus, model, workRoot));
            });
        }
        finally
        {
            Directory.Delete(workRoot, recursive: true);
        }

        var sorted = outcomes.OrderBy(o => o.Model, StringComparer.Ordinal).ToList();
        var summary = Summarize(sorted, corpus, watch.Elapsed);
        WriteResults(summary, sorted);

        var crashes = sorted.Where(o => o.Kind == OutcomeKind.Crash).ToList();
        var hangs = sorted.Where(o => o.Kind == OutcomeKind.Hang).ToList();
        Assert.True(crashes.Count == 0, $"{crashes.Count} models crashed kneron-quant:\n" + string.Join("\n", crashes.Select(Describe)));
        Assert.True(hangs.Count == 0, $"{hangs.Count} models ran past {ModelTimeout.TotalSeconds} s:\n" + string.Join("\n", hangs.Select(Describe)));
    }

    private static Outcome RunOne(string tool, string corpus, string model, string workRoot)
    {
        var name = Path.GetRelativePath(corpus, Path.GetDirectoryName(model)!);
        var folder = Path.Combine(workRoot, name.Replace(Path.DirectorySeparatorChar, '_'));
        try
        {
            var config = SweepSetup.Write(model, folder);
            var run = CliProcess.Run(tool, new[] { "analyze", model, "--config", config, "--output", Path.Combine(folder, "out") }, ModelTimeout);
            return Classify(name, run);
        }
        finally
        {
            // Frees the disk as the sweep goes; the summary keeps what matters.
            Directory.Delete(folder, recursive: true);
        }
    }

    private static Outcome Classify(string name, CliRun run)
    {
        var errorLine = run.Error.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => CodedError().IsMatch(l));
        var code = errorLine is null ? null : CodedError().Match(errorLine).Groups["code"].Value;
        var kind = run switch
        {
            { TimedOut: true } => OutcomeKind.Hang,
            { ExitCode: 0 or 1 } => OutcomeKind.Analysed,
            { ExitCode: 2 } when code is not null => OutcomeKind.CodedError,
            _ => OutcomeKind.Crash,
        };

        // A crash keeps its first error line and the innermost frame of our code, enough to find the bug.
        var detail = errorLine ?? "";
        if (kind == OutcomeKind.Crash)
        {
            var lines = (run.Error + run.Output).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).ToList();
            var frame = lines.FirstOrDefault(l => l.StartsWith("at Kneron.", StringComparison.Ordinal));
            detail = Shorten(errorLine ?? lines.FirstOrDefault() ?? "no output", 300) + (frame is null ? "" : " | " + frame);
        }
        return new Outcome(name, kind, run.TimedOut ? null : run.ExitCode, code, run.Elapsed, detail);
    }

    private static string Summarize(IReadOnlyList<Outcome> outcomes, string corpus, TimeSpan elapsed)
    {
        var text = new StringBuilder();
        text.AppendLine($"corpus: {corpus}");
        text.AppendLine($"models: {outcomes.Count}");
        text.AppendLine($"analysed: {outcomes.Count(o => o.Kind == OutcomeKind.Analysed)} (exit 0: {outcomes.Count(o => o.ExitCode == 0)}, exit 1: {outcomes.Count(o => o.ExitCode == 1)})");
        text.AppendLine($"coded errors: {outcomes.Count(o => o.Kind == OutcomeKind.CodedError)}");
        foreach (var group in outcomes.Where(o => o.Kind == OutcomeKind.CodedError).GroupBy(o => o.Code).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            text.AppendLine($"  {group.Key}: {group.Count()}");
        }

        text.AppendLine($"crashes: {outcomes.Count(o => o.Kind == OutcomeKind.Crash)}");
        text.AppendLine($"hangs: {outcomes.Count(o => o.Kind == OutcomeKind.Hang)}");
        text.AppendLine($"slowest: {string.Join(", ", outcomes.OrderByDescending(o => o.Elapsed).Take(3).Select(o => $"{o.Model} {o.Elapsed.TotalSeconds:0.0} s"))}");
        text.AppendLine($"wall time: {elapsed.TotalSeconds:0} s on {Workers} workers");
        return text.ToString();
    }

    /// <summary>Writes the summary and one line per model to <c>artifacts/corpus</c> in the repository.</summary>
    private static void WriteResults(string summary, IReadOnlyList<Outcome> outcomes)
    {
        var folder = Path.Combine(CliProcess.FindRepositoryRoot(), "artifacts", "corpus");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "corpus-sweep.txt"), summary);

        var table = new StringBuilder("model\toutcome\texit\tcode\tseconds\tdetail\n");
        foreach (var o in outcomes)
        {
            table.Append(CultureInfo.InvariantCulture, $"{o.Model}\t{o.Kind}\t{o.ExitCode?.ToString() ?? "-"}\t{o.Code ?? "-"}\t{o.Elapsed.TotalSeconds:0.00}\t{o.Detail.Replace('\t', ' ')}\n");
        }

        File.WriteAllText(Path.Combine(folder, "corpus-sweep.tsv"), table.ToString());
    }

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..length] + "…";

    private static string Describe(Outcome o) => $"  {o.Model} (exit {o.ExitCode?.ToString() ?? "none"}, {o.Elapsed.TotalSeconds:0.0} s): {o.Detail}";

    /// <summary>An MSBuild-style error line: <c>path(line,col): error KNQnnnn: message</c>, the location optional.</summary>
    [GeneratedRegex(@"(^|: )error (?<code>KNQ\d{4}): ")]
    private static partial Regex CodedError();

    private enum OutcomeKind
    {
        Analysed,
        CodedError,
        Crash,
        Hang,
    }

    private sealed record Outcome(string Model, OutcomeKind Kind, int? ExitCode, string? Code, TimeSpan Elapsed, string Detail);
}
