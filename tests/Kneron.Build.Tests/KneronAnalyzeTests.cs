using Kneron.Build.Tasks;
using Microsoft.Build.Framework;

namespace Kneron.Build.Tests;

public sealed class KneronAnalyzeTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "kneron-task-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public void PassesDiagnosticsOnWithPositionAndCode()
    {
        var tool = FakeTool.Write(_folder, 1,
            standardOutput: new[] { "calibrating 2 samples" },
            standardError: new[]
            {
                "/p/face.quant.yaml(2,16): error KNQ0403: SNR of output out is 13.03 dB, below snr_threshold 200.00 dB.",
                "/p/images/a.png: warning KNQ0301: image is grayscale.",
            });
        var (task, engine) = CreateTask(tool);

        Assert.False(task.Execute());

        var error = Assert.Single(engine.Errors);
        Assert.Equal("KNQ0403", error.Code);
        Assert.Equal("/p/face.quant.yaml", error.File);
        Assert.Equal(2, error.LineNumber);
        Assert.Equal(16, error.ColumnNumber);
        Assert.Equal("SNR of output out is 13.03 dB, below snr_threshold 200.00 dB.", error.Message);

        var warning = Assert.Single(engine.Warnings);
        Assert.Equal("KNQ0301", warning.Code);
        Assert.Equal("/p/images/a.png", warning.File);
        Assert.Equal(0, warning.LineNumber);
    }

    [Fact]
    public void RelaysLastOutputLineAtNormalImportance()
    {
        var tool = FakeTool.Write(_folder, 0, standardOutput: new[] { "progress 50%" }, standardError: Array.Empty<string>());
        var (task, engine) = CreateTask(tool);
        task.SnrThreshold = "25";
        task.DatapathBitwidthMode = "mix light";

        Assert.True(task.Execute());

        // The fake tool's last line echoes its arguments, so the summary shows the command line it got.
        Assert.Empty(engine.Errors);
        Assert.Contains("--set snr_threshold=25", task.SummaryLine);
        Assert.Contains("--set datapath_bitwidth_mode=mix light", task.SummaryLine);
        Assert.Contains("--overrides-source /p/app.csproj", task.SummaryLine);
        Assert.Contains(engine.Messages, m => m.Message == task.SummaryLine && m.Importance == MessageImportance.Normal);
        Assert.Contains(engine.Messages, m => m.Message == "progress 50%" && m.Importance == MessageImportance.Low);
    }

    [Fact]
    public void CrashReportsExitCodeAndOutput()
    {
        var tool = FakeTool.Write(_folder, 134,
            standardOutput: Array.Empty<string>(),
            standardError: new[] { "Unhandled exception. System.InvalidOperationException: boom", "   at Kneron.Quantization.Analyzer.Analyze()" });
        var (task, engine) = CreateTask(tool);

        Assert.False(task.Execute());

        var error = Assert.Single(engine.Errors);
        Assert.Equal("KNQ0701", error.Code);
        Assert.Equal("/p/models/face.onnx", error.File);
        Assert.Contains("exit code 134", error.Message);
        Assert.Contains("System.InvalidOperationException: boom", error.Message);
        Assert.Contains("at Kneron.Quantization.Analyzer.Analyze()", error.Message);
    }

    [Fact]
    public void CrashAfterCodedErrorKeepsOutputOnce()
    {
        var tool = FakeTool.Write(_folder, 3,
            standardOutput: Array.Empty<string>(),
            standardError: new[]
            {
                "/p/models/face.onnx: error KNQ0099: Internal error in kneron-quant 0.1.0: InvalidOperationException: boom Please report it with the trace below.",
                "System.InvalidOperationException: boom",
                "   at Kneron.Quantization.Analyzer.Analyze()",
            });
        var (task, engine) = CreateTask(tool);

        Assert.False(task.Execute());

        Assert.Equal(new[] { "KNQ0099", "KNQ0701" }, engine.Errors.Select(e => e.Code));
        var crash = engine.Errors[1];
        Assert.Contains("exit code 3", crash.Message);
        Assert.Contains("-v:n", crash.Message);
        Assert.DoesNotContain("at Kneron.Quantization.Analyzer.Analyze()", crash.Message);
        Assert.DoesNotContain("boom", crash.Message);
        Assert.Contains(engine.Messages, m => m.Message == "   at Kneron.Quantization.Analyzer.Analyze()");
    }

    [Fact]
    public void OverrideErrorNamesItemAndMetadata()
    {
        var tool = FakeTool.Write(_folder, 2,
            standardOutput: Array.Empty<string>(),
            standardError: new[] { "/p/app.csproj: error KNQ0502: datapath_bitwidth_mode 'int16' is not supported on KL520, which has no int16 path; it allows int8, auto." });
        var (task, engine) = CreateTask(tool);
        task.Platform = "520";
        task.DatapathBitwidthMode = "int16";

        Assert.False(task.Execute());

        var error = Assert.Single(engine.Errors);
        Assert.Equal("KNQ0502", error.Code);
        Assert.Equal("/p/app.csproj", error.File);
        Assert.Equal(0, error.LineNumber);
        Assert.StartsWith("KneronModel 'models/face.onnx' metadata DatapathBitwidthMode=int16: datapath_bitwidth_mode 'int16'", error.Message);
    }

    [Fact]
    public void OverrideErrorWithoutKeyNamesAllMetadata()
    {
        var tool = FakeTool.Write(_folder, 2,
            standardOutput: Array.Empty<string>(),
            standardError: new[] { "/p/app.csproj: error KNQ0120: override 'x' is not of the form key=value." });
        var (task, engine) = CreateTask(tool);
        task.Platform = "520";
        task.SnrThreshold = "25";

        Assert.False(task.Execute());

        var error = Assert.Single(engine.Errors);
        Assert.StartsWith("KneronModel 'models/face.onnx' metadata Platform=520, SnrThreshold=25: override 'x'", error.Message);
    }

    [Fact]
    public void ConfigErrorKeepsMessage()
    {
        var tool = FakeTool.Write(_folder, 2,
            standardOutput: Array.Empty<string>(),
            standardError: new[] { "/p/models/face.quant.yaml(3,1): error KNQ0105: unknown key 'snr_treshold'." });
        var (task, engine) = CreateTask(tool);
        task.Platform = "520";

        Assert.False(task.Execute());

        Assert.Equal("unknown key 'snr_treshold'.", Assert.Single(engine.Errors).Message);
    }

    [Fact]
    public void SuccessWritesRelayedWarnings()
    {
        var warningLines = new[]
        {
            "/p/models/face.quant.yaml(2,16): warning KNQ0403: SNR of output out is 13.03 dB, below snr_threshold 200.00 dB.",
            "/p/images/a.png: warning KNQ0301: image is grayscale.",
            "warning KNQ0001: no file.",
        };
        var tool = FakeTool.Write(_folder, 0, standardOutput: new[] { "done" }, standardError: warningLines);
        var (task, engine) = CreateTask(tool);
        task.WarningsFile = Path.Combine(_folder, "face.warnings");

        Assert.True(task.Execute());

        Assert.Equal(3, engine.Warnings.Count);
        Assert.Equal(warningLines, File.ReadAllLines(task.WarningsFile));
    }

    [Fact]
    public void SuccessWithoutWarningsWritesEmptyFile()
    {
        var tool = FakeTool.Write(_folder, 0, standardOutput: new[] { "done" }, standardError: Array.Empty<string>());
        var (task, _) = CreateTask(tool);
        task.WarningsFile = Path.Combine(_folder, "face.warnings");

        Assert.True(task.Execute());

        Assert.Empty(File.ReadAllLines(task.WarningsFile));
    }

    [Fact]
    public void UnwritableWarningsFileIsCodedError()
    {
        var tool = FakeTool.Write(_folder, 0, standardOutput: new[] { "done" }, standardError: Array.Empty<string>());
        var (task, engine) = CreateTask(tool);
        var notAFolder = Path.Combine(_folder, "not-a-folder");
        File.WriteAllText(notAFolder, "a file where the analysis folder should be\n");
        task.WarningsFile = Path.Combine(notAFolder, "face.warnings");

        Assert.False(task.Execute());

        var error = Assert.Single(engine.Errors);
        Assert.Equal("KNQ0801", error.Code);
        Assert.Equal(task.WarningsFile, error.File);
        Assert.Contains($"Could not write the warnings file '{task.WarningsFile}'", error.Message);
        Assert.Empty(Directory.GetFiles(_folder, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void FailureRemovesWarningsFile()
    {
        var tool = FakeTool.Write(_folder, 1,
            standardOutput: Array.Empty<string>(),
            standardError: new[]
            {
                "/p/images/a.png: warning KNQ0301: image is grayscale.",
                "/p/face.quant.yaml(2,16): error KNQ0403: SNR of output out is 13.03 dB, below snr_threshold 200.00 dB.",
            });
        var (task, _) = CreateTask(tool);
        task.WarningsFile = Path.Combine(_folder, "face.warnings");
        File.WriteAllText(task.WarningsFile, "/p/old.png: warning KNQ0301: from an earlier analysis.\n");

        Assert.False(task.Execute());

        Assert.False(File.Exists(task.WarningsFile), "A failed analysis left a warnings file.");
    }

    [Fact]
    public void FailureWithoutDiagnosticIsCodedError()
    {
        var tool = FakeTool.Write(_folder, 2, standardOutput: Array.Empty<string>(), standardError: new[] { "something went wrong" });
        var (task, engine) = CreateTask(tool);

        Assert.False(task.Execute());

        var error = Assert.Single(engine.Errors);
        Assert.Equal("KNQ0702", error.Code);
        Assert.Contains("exited with code 2", error.Message);
        Assert.Contains("something went wrong", error.Message);
    }

    [Fact]
    public async Task CancelKillsToolAndFails()
    {
        var tool = FakeTool.Write(_folder, 0, standardOutput: new[] { "calibrating" }, standardError: Array.Empty<string>(), waitSeconds: 60);
        var (task, engine) = CreateTask(tool);
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();

        var execution = Task.Run(task.Execute);
        await Task.Delay(TimeSpan.FromSeconds(1));
        task.Cancel();

        var finished = await Task.WhenAny(execution, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(finished == execution, "Execute did not return after Cancel.");
        Assert.False(await execution);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"Cancel took {stopwatch.Elapsed}.");
        Assert.Empty(engine.Errors);
    }

    [Fact]
    public void SummaryNamesItemAndOutputName()
    {
        var summary = "face.onnx: KL730 int8/int8; SNR out 30.0 dB; /p/obj/kneron/models/face-730/face.quant.onnx; 1.0 s";
        var tool = FakeTool.Write(_folder, 0, standardOutput: new[] { summary }, standardError: Array.Empty<string>(), echoArguments: false);
        var (task, engine) = CreateTask(tool);
        task.OutputDirectory = "/p/obj/kneron/models/face-730/";
        task.OutputName = "face-730";
        task.FinalQuantizedModel = "/p/bin/models/face-730.quant.onnx";

        Assert.True(task.Execute());

        Assert.Equal(summary, task.SummaryLine);
        Assert.Contains(engine.Messages, m => m.Importance == MessageImportance.Normal &&
            m.Message == "models/face.onnx (face-730): KL730 int8/int8; SNR out 30.0 dB; /p/bin/models/face-730.quant.onnx; 1.0 s");
    }

    [Fact]
    public void SummaryOmitsOutputNameEqualToFileName()
    {
        var summary = "face.onnx: KL720 int8/int8; SNR out 30.0 dB; /p/obj/kneron/models/face/face.quant.onnx; 1.0 s";
        var tool = FakeTool.Write(_folder, 0, standardOutput: new[] { summary }, standardError: Array.Empty<string>(), echoArguments: false);
        var (task, engine) = CreateTask(tool);
        task.OutputName = "face";
        task.FinalQuantizedModel = "/p/bin/models/face.quant.onnx";

        Assert.True(task.Execute());

        Assert.Contains(engine.Messages, m => m.Importance == MessageImportance.Normal &&
            m.Message == "models/face.onnx: KL720 int8/int8; SNR out 30.0 dB; /p/bin/models/face.quant.onnx; 1.0 s");
    }

    [Fact]
    public void SummaryMatchesRelativeOutputFolder()
    {
        // The tool prints its --output folder as a full path, whatever form the task passed.
        var toolPath = Path.Combine(Path.GetFullPath(Path.Combine("obj", "kneron", "face")), "face.quant.onnx");
        var summary = $"face.onnx: KL720 int8/int8; SNR out 30.0 dB; {toolPath}; 1.0 s";
        var tool = FakeTool.Write(_folder, 0, standardOutput: new[] { summary }, standardError: Array.Empty<string>(), echoArguments: false);
        var (task, engine) = CreateTask(tool);
        task.OutputDirectory = "obj/kneron/face/";
        task.FinalQuantizedModel = "/p/bin/face.quant.onnx";

        Assert.True(task.Execute());

        Assert.Contains(engine.Messages, m => m.Importance == MessageImportance.Normal &&
            m.Message == "models/face.onnx: KL720 int8/int8; SNR out 30.0 dB; /p/bin/face.quant.onnx; 1.0 s");
    }

    [Fact]
    public void MissingToolIsCodedError()
    {
        var (task, engine) = CreateTask(Path.Combine(_folder, "missing", "kneron-quant.dll"));

        Assert.False(task.Execute());

        var error = Assert.Single(engine.Errors);
        Assert.Equal("KNQ0704", error.Code);
        Assert.Contains("KneronToolPath", error.Message);
    }

    private static (KneronAnalyze Task, FakeBuildEngine Engine) CreateTask(string tool)
    {
        var engine = new FakeBuildEngine();
        var task = new KneronAnalyze
        {
            BuildEngine = engine,
            Model = "/p/models/face.onnx",
            ModelItemSpec = "models/face.onnx",
            Config = "/p/models/face.quant.yaml",
            OutputDirectory = "/p/obj/kneron/models/face/",
            ToolAssembly = tool,
            OverridesSource = "/p/app.csproj",
        };
        return (task, engine);
    }
}
