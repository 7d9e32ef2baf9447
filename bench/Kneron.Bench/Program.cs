using System.Diagnostics;
using System.Globalization;
using System.Text;
using Kneron.Bench;
using Kneron.Quantization.Analysis;
using Kneron.Quantization.Calibration;
using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;
using Kneron.Quantization.Model;
using Microsoft.ML.OnnxRuntime;

// Measures, in one run, the analysis against its floor: the float ONNX Runtime
// pass over the same calibration samples. Writes docs/benchmarks.md.
// Usage: dotnet run --project bench/Kneron.Bench -c Release [-- --runs 3]
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
int runs = args.SkipWhile(a => a != "--runs").Skip(1).Select(int.Parse).FirstOrDefault(3);

var repo = FindRepository();
var cache = Environment.GetEnvironmentVariable("KNERON_MODEL_CACHE") is { Length: > 0 } c ? c
    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "kneron-build", "models");
var work = Path.Combine(Path.GetTempPath(), "kneron-bench");
var images = DerivedImages.Create(Path.Combine(repo, "tests", "data", "images"), 256, Path.Combine(work, "images"));
var cli = Path.Combine(repo, "src", "Kneron.Quantization.Cli", "bin", "Release", "net10.0", "kneron-quant.dll");
var report = new StringBuilder();

// Warm-up: the first calls of a process JIT-compile the code paths measured below.
var warmUp = WriteConfig(repo, work, "blazeface_front", images, 4);
FloatPass(Path.Combine(cache, "blazeface_front.onnx"), warmUp, decode: true);
Analyze(Path.Combine(cache, "blazeface_front.onnx"), warmUp, Array.Empty<string>());

Console.WriteLine("Float pass and analysis per mode (in process)...");
var modeRows = new List<string>();
var targetRows = new List<string>();
foreach (var (model, samples) in new[] { ("blazeface_front", 32), ("ppocr_det", 16) })
{
    var config = WriteConfig(repo, work, model, images, samples);
    double floatSeconds = Median(runs, () => FloatPass(Path.Combine(cache, model + ".onnx"), config, decode: true));
    double inferenceSeconds = Median(runs, () => FloatPass(Path.Combine(cache, model + ".onnx"), config, decode: false));
    modeRows.Add($"| {model} | {samples} | float pass: decode and run each sample (reference) | {floatSeconds:0.000} | 1.0 |");
    modeRows.Add($"| {model} | {samples} | float pass: run decoded samples only | {inferenceSeconds:0.000} | {inferenceSeconds / floatSeconds:0.0} |");
    foreach (var (mode, sets) in Modes)
    {
        double seconds = Median(runs, () => Analyze(Path.Combine(cache, model + ".onnx"), config, sets));
        modeRows.Add($"| {model} | {samples} | {mode} | {seconds:0.000} | {seconds / floatSeconds:0.0} |");
        Console.WriteLine($"  {model} {mode}: {seconds:0.000} s ({seconds / floatSeconds:0.0}× the float pass of {floatSeconds:0.000} s)");
        if (model == "blazeface_front" && mode == "mixbw")
        {
            targetRows.Add($"| mixbw analysis, BlazeFace front, {samples} images, vs the float pass of those images | ≤ 12× | {seconds:0.00} s vs {floatSeconds:0.000} s = {seconds / floatSeconds:0}× |");
        }
    }

    // Per-sample cost without the fixed start-up: the slope between 2N and 4N samples, with more
    // runs than above because the difference of two timings is noisier than either.
    var small = WriteConfig(repo, work, model, images, 2 * samples);
    var large = WriteConfig(repo, work, model, images, 4 * samples);
    int slopeRuns = runs + 2;
    double floatSmall = Median(slopeRuns, () => FloatPass(Path.Combine(cache, model + ".onnx"), small, decode: true));
    double floatLarge = Median(slopeRuns, () => FloatPass(Path.Combine(cache, model + ".onnx"), large, decode: true));
    double int8Small = Median(slopeRuns, () => Analyze(Path.Combine(cache, model + ".onnx"), small, Modes[0].Sets));
    double int8Large = Median(slopeRuns, () => Analyze(Path.Combine(cache, model + ".onnx"), large, Modes[0].Sets));
    double slope = (int8Large - int8Small) / (2 * samples), floatSlope = (floatLarge - floatSmall) / (2 * samples);
    double startUp = int8Small - slope * 2 * samples;
    targetRows.Add($"| int8 analysis per sample vs float pass per sample ({model}, {2 * samples} to {4 * samples} samples) | ≤ 3× | {slope * 1000:0.0} ms vs {floatSlope * 1000:0.0} ms = {slope / floatSlope:0.0}× (fixed start-up {startUp:0.00} s) |");
}

Console.WriteLine("Peak memory by number of samples (child process)...");
var memoryRows = new List<string>();
var peaks = new Dictionary<int, long>();
foreach (var samples in new[] { 16, 64, 256 })
{
    var config = WriteConfig(repo, work, "blazeface_front", images, samples);
    var (_, peakKb, _) = RunCli(cli, "analyze", Path.Combine(cache, "blazeface_front.onnx"), "--config", config, "--output", Path.Combine(work, "out-memory"), "--set", "on_low_snr=warning");
    peaks[samples] = peakKb;
    memoryRows.Add($"| blazeface_front | {samples} | {peakKb / 1024.0:0} |");
    Console.WriteLine($"  {samples} samples: {peakKb / 1024.0:0} MiB");
}

targetRows.Add($"| peak memory, 256 samples vs 16 (BlazeFace, int8) | ≤ 1.2× | {peaks[256] / 1024.0:0} MiB vs {peaks[16] / 1024.0:0} MiB = {(double)peaks[256] / peaks[16]:0.00}× |");

Console.WriteLine("Results cache hits (child process)...");
var cacheRows = new List<string>();
var cacheDir = Path.Combine(work, "results-cache");
if (Directory.Exists(cacheDir))
{
    Directory.Delete(cacheDir, recursive: true);
}

double slowestHit = 0;
foreach (var model in new[] { "blazeface_front", "mlsd_tiny", "ppocr_det", "ppocr_cls" })
{
    var config = Path.Combine(repo, "tests", "data", "models", model + ".quant.yaml");
    var commandLine = new[] { "analyze", Path.Combine(cache, model + ".onnx"), "--config", config, "--output", Path.Combine(work, "out-cache"), "--cache-dir", cacheDir, "--set", "on_low_snr=warning" };
    var (miss, _, _) = RunCli(cli, commandLine);
    var hits = Enumerable.Range(0, runs).Select(_ => RunCli(cli, commandLine)).ToList();
    if (hits.Any(h => !h.Output.Contains("Results cache hit")))
    {
        throw new InvalidOperationException($"{model}: the second run did not hit the cache.");
    }

    double hit = hits.Select(h => h.Seconds).Order().ElementAt(hits.Count / 2);
    slowestHit = Math.Max(slowestHit, hit);
    cacheRows.Add($"| {model} | {miss:0.00} | {hit:0.00} |");
    Console.WriteLine($"  {model}: miss {miss:0.00} s, hit {hit:0.00} s");
}

targetRows.Add($"| results-cache hit, whole `kneron-quant` process, slowest test model | < 1 s | {slowestHit:0.00} s |");

Console.WriteLine("No-op incremental build of the sample (child processes)...");
var (withModels, withoutModels) = NoOpBuilds(repo, work, runs);
targetRows.Add($"| no-op incremental `dotnet build` of the sample vs the same project without models | ≤ 1.1× | {withModels:0.00} s vs {withoutModels:0.00} s = {withModels / withoutModels:0.00}× |");

var machine = $"{Environment.ProcessorCount} cores, {File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':')[1].Trim()}, "
    + $"{GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB";
report.AppendLine("# Benchmarks");
report.AppendLine();
report.AppendLine("Written by `dotnet run --project bench/Kneron.Bench -c Release` (after `scripts/fetch-test-models.sh`,");
report.AppendLine("and `scripts/run-sample.sh` for the build rows), medians of " + runs + " runs, on " + machine + ", " + DateTime.UtcNow.ToString("yyyy-MM-dd") + ".");
report.AppendLine("Calibration images are derived from the 15 test photos (crops of 60–100% per side, every other one mirrored, seeded by index), so any number can be used.");
report.AppendLine();
report.AppendLine("## Targets");
report.AppendLine();
report.AppendLine("| measure | target | measured |");
report.AppendLine("|---|---|---|");
foreach (var row in targetRows)
{
    report.AppendLine(row);
}

report.AppendLine();
report.AppendLine("## Analysis time per mode");
report.AppendLine();
report.AppendLine("Whole `Analyzer.Analyze` call in process (config, decoding, sessions, calibration, mode choice, simulation, QDQ model), against a plain ONNX Runtime session running the float model over the same samples, decoding each image in the loop as the analysis must (the reference); the row below it runs samples decoded beforehand.");
report.AppendLine();
report.AppendLine("| model | samples | run | seconds | × float pass |");
report.AppendLine("|---|---|---|---|---|");
foreach (var row in modeRows)
{
    report.AppendLine(row);
}

report.AppendLine();
report.AppendLine("## Peak memory");
report.AppendLine();
report.AppendLine("Maximum resident set size of a `kneron-quant analyze` process (GNU time), int8.");
report.AppendLine();
report.AppendLine("| model | samples | peak (MiB) |");
report.AppendLine("|---|---|---|");
foreach (var row in memoryRows)
{
    report.AppendLine(row);
}

report.AppendLine();
report.AppendLine("## Results cache");
report.AppendLine();
report.AppendLine("Wall time of a whole `kneron-quant analyze` process with `--cache-dir`: the first run analyses and stores, the next ones copy from the cache.");
report.AppendLine();
report.AppendLine("| model | miss (s) | hit (s) |");
report.AppendLine("|---|---|---|");
foreach (var row in cacheRows)
{
    report.AppendLine(row);
}

report.AppendLine();
report.AppendLine(File.ReadAllText(Path.Combine(repo, "bench", "Kneron.Bench", "bounds.md")).TrimEnd());
File.WriteAllText(Path.Combine(repo, "docs", "benchmarks.md"), report.ToString());
Console.WriteLine("Wrote docs/benchmarks.md");
return 0;

static string FindRepository()
{
    var directory = new DirectoryInfo(AppContext.BaseDirectory);
    while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Kneron.Build.sln")))
    {
        directory = directory.Parent;
    }

    return directory?.FullName ?? throw new DirectoryNotFoundException("Kneron.Build.sln not found above " + AppContext.BaseDirectory);
}

static string WriteConfig(string repo, string work, string model, string images, int samples)
{
    var source = File.ReadAllText(Path.Combine(repo, "tests", "data", "models", model + ".quant.yaml"));
    var kept = new List<string>();
    bool skipping = false;
    foreach (var line in source.Split('\n'))
    {
        if (line.StartsWith("  images:"))
        {
            kept.Add($"  images: \"{images}/*.png\"");
            kept.Add($"  max_samples: {samples}");
            skipping = true;
            continue;
        }

        if (skipping && line.StartsWith("    - "))
        {
            continue;
        }

        skipping = false;
        kept.Add(line);
    }

    var path = Path.Combine(work, $"{model}-{samples}.quant.yaml");
    File.WriteAllText(path, string.Join('\n', kept));
    return path;
}

/// <summary>
/// Times the float model over the samples in a plain session (no exposed
/// intermediate tensors): with <paramref name="decode"/>, each sample is
/// decoded and preprocessed inside the timed loop, as any pass over image
/// files must; without, only inference on samples decoded beforehand.
/// </summary>
static double FloatPass(string modelPath, string configPath, bool decode)
{
    var config = ConfigLoader.Load(configPath);
    var graph = OnnxGraph.Load(modelPath);
    var inputs = GraphNormalizer.Normalize(graph, config);
    var set = SampleSetLoader.Load(config, config.Calibration, inputs);
    var decoded = decode ? null : set.Enumerate().ToList();
    using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
    using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(graph.Model), options);
    using var runOptions = new RunOptions();
    var outputs = session.OutputNames.ToList();

    // One warm-up run: the first run of a session allocates its buffers.
    Run(set.Enumerate().First());
    var watch = Stopwatch.StartNew();
    foreach (var sample in decoded ?? set.Enumerate())
    {
        Run(sample);
    }

    return watch.Elapsed.TotalSeconds;

    void Run(Sample sample)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(sample.Inputs[inputs[0].Name], inputs[0].Shape.ToArray());
        using var results = session.Run(runOptions, new[] { inputs[0].Name }, new[] { value }, outputs);
    }
}

static double Analyze(string modelPath, string configPath, string[] sets)
{
    var watch = Stopwatch.StartNew();
    var config = ConfigLoader.Load(configPath, sets.Append("on_low_snr=warning").ToList());
    new Analyzer(new DiagnosticBag()).Analyze(modelPath, config);
    return watch.Elapsed.TotalSeconds;
}

static (double Seconds, long PeakKb, string Output) RunCli(string cli, params string[] arguments)
{
    var start = new ProcessStartInfo("/usr/bin/time") { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var argument in new[] { "-f", "KNERON_BENCH_PEAK_KB=%M", "dotnet", cli }.Concat(arguments))
    {
        start.ArgumentList.Add(argument);
    }

    var watch = Stopwatch.StartNew();
    using var process = Process.Start(start)!;
    var output = process.StandardOutput.ReadToEndAsync();
    var error = process.StandardError.ReadToEnd();
    process.WaitForExit();
    var seconds = watch.Elapsed.TotalSeconds;
    var peakLine = error.Split('\n').Last(l => l.StartsWith("KNERON_BENCH_PEAK_KB="));
    if (process.ExitCode is not (0 or 1))
    {
        throw new InvalidOperationException($"kneron-quant exited with {process.ExitCode}: {error}");
    }

    return (seconds, long.Parse(peakLine.Split('=')[1]), output.Result);
}

static (double WithModels, double WithoutModels) NoOpBuilds(string repo, string work, int runs)
{
    var sample = Path.Combine(repo, "samples", "FaceDetection");
    if (!File.Exists(Path.Combine(sample, "models", "face.onnx")) || !Directory.Exists(Path.Combine(repo, "artifacts", "nuget-packages")))
    {
        throw new InvalidOperationException("Run scripts/run-sample.sh first: the build rows need the packed packages and the sample's model.");
    }

    // The same project without its KneronModel items, in a copy beside the original.
    var bare = Path.Combine(work, "FaceDetectionWithoutModels");
    if (Directory.Exists(bare))
    {
        Directory.Delete(bare, recursive: true);
    }

    CopyFolder(sample, bare);
    var project = Directory.GetFiles(bare, "*.csproj").Single();
    var text = string.Join('\n', File.ReadAllLines(project).Where(l => !l.Contains("<KneronModel ")));
    File.WriteAllText(project, text);

    double Build(string folder)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder };
        foreach (var argument in new[] { "build", "-nodeReuse:false", "-tl:off", "-v:q" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["NUGET_PACKAGES"] = Path.Combine(repo, "artifacts", "nuget-packages");
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet build in {folder} failed with exit code {process.ExitCode}.");
        }

        return watch.Elapsed.TotalSeconds;
    }

    Build(sample);
    Build(bare);
    double with = Median(runs + 2, () => Build(sample));
    double without = Median(runs + 2, () => Build(bare));
    return (with, without);
}

static void CopyFolder(string source, string destination)
{
    foreach (var directory in Directory.GetDirectories(source, "*", SearchOption.AllDirectories).Where(d => !d.Contains("/bin") && !d.Contains("/obj")))
    {
        Directory.CreateDirectory(directory.Replace(source, destination));
    }

    Directory.CreateDirectory(destination);
    foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories).Where(f => !f.Contains("/bin/") && !f.Contains("/obj/")))
    {
        File.Copy(file, file.Replace(source, destination), overwrite: true);
    }
}

static double Median(int count, Func<double> measure)
{
    var values = Enumerable.Range(0, count).Select(_ => measure()).Order().ToList();
    return values[values.Count / 2];
}

partial class Program
{
    private static readonly (string Name, string[] Sets)[] Modes =
    {
        ("int8", new[] { "datapath_bitwidth_mode=int8", "weight_bitwidth_mode=int8" }),
        ("int16", new[] { "datapath_bitwidth_mode=int16", "weight_bitwidth_mode=int16", "model_in_bitwidth_mode=int16", "model_out_bitwidth_mode=int16", "cpu_node_bitwidth_mode=int16" }),
        ("mix light", new[] { "datapath_bitwidth_mode=mix light", "weight_bitwidth_mode=mix light", "model_in_bitwidth_mode=int16", "model_out_bitwidth_mode=int16", "cpu_node_bitwidth_mode=int16" }),
        ("mixbw", new[] { "datapath_bitwidth_mode=mixbw", "weight_bitwidth_mode=mixbw" }),
    };
}
