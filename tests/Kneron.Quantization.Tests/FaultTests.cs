using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Kneron.Quantization.Tests;

/// <summary>
/// Faults around a run: the process killed or interrupted mid-run, two runs
/// writing the same folder at once, and the inputs left untouched. Runs the built CLI as a
/// child process, as the build task does.
/// </summary>
public sealed class FaultTests
{
    private static readonly string[] Results = { ".quant.onnx", ".quant.json", ".report.html" };

    private static Process Start(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(BuiltCli.Path());
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    /// <summary>
    /// Starts the CLI with SIGINT at its default handling, as a command typed in a
    /// terminal has it: a test host started in the background by a script
    /// inherits SIGINT ignored, and its children would too.
    /// </summary>
    private static Process StartInterruptible(params string[] arguments)
    {
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--default-signal=INT");
        start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(BuiltCli.Path());
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    private static (TestFolder Folder, string Model, string Config) Project(int images)
    {
        var folder = new TestFolder();
        var model = folder.Combine("det.onnx");
        File.Copy(TestModels.ModelPath("ppocr_det"), model);
        Directory.CreateDirectory(folder.Combine("calib"));
        var sources = Directory.GetFiles(Path.Combine(TestFolder.DataFolder(), "images")).Order(StringComparer.Ordinal).Take(images);
        foreach (var image in sources)
        {
            File.Copy(image, folder.Combine("calib/" + Path.GetFileName(image)));
        }

        var config = folder.WriteText("det.quant.yaml",
            "platform: 720\non_low_snr: warning\ncalibration:\n  images: \"calib/*\"\n  mean: [123.675, 116.28, 103.53]\n  std: [58.395, 57.12, 57.375]\ninputs:\n  x: { shape: [1, 3, 480, 480] }\n");
        return (folder, model, config);
    }

    private const System.Text.Json.JsonValueKind JsonValueKindNumber = System.Text.Json.JsonValueKind.Number;

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void KilledRunLeavesNoTornArtifact()
    {
        var (folder, model, _) = Project(images: 4);
        using var _folder = folder;

        // Time a whole run, then kill runs at points spread over that time, the last ones
        // while the artifacts are being written: each file left must be complete.
        var timer = Stopwatch.StartNew();
        using (var full = Start("analyze", model, "--output", folder.Combine("full")))
        {
            full.WaitForExit();
            Assert.Equal(0, full.ExitCode);
        }

        var duration = timer.Elapsed;
        foreach (var share in new[] { 0.3, 0.6, 0.85, 0.9, 0.95, 0.98 })
        {
            var output = folder.Combine($"killed-{share}");
            using var process = Start("analyze", model, "--output", output);
            Thread.Sleep(duration * share);
            process.Kill(entireProcessTree: true);
            process.WaitForExit();

            var onnx = Path.Combine(output, "det.quant.onnx");
            if (File.Exists(onnx))
            {
                Assert.Equal(File.ReadAllBytes(folder.Combine("full/det.quant.onnx")), File.ReadAllBytes(onnx));
            }

            var json = Path.Combine(output, "det.quant.json");
            if (File.Exists(json))
            {
                using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
                Assert.Equal(JsonValueKindNumber, document.RootElement.GetProperty("snr_threshold_db").ValueKind);
            }
        }
    }

    [Fact]
    public void ConcurrentRunsLeaveOneCompleteResult()
    {
        var (folder, model, config) = Project(images: 2);
        using var _folder = folder;
        var shared = folder.Combine("shared");
        var alone = folder.Combine("alone");
        var modelHash = Sha256(model);
        var configHash = Sha256(config);

        var first = Start("analyze", model, "--output", shared);
        var second = Start("analyze", model, "--output", shared);
        first.WaitForExit();
        second.WaitForExit();
        using var reference = Start("analyze", model, "--output", alone);
        reference.WaitForExit();

        Assert.Equal(0, first.ExitCode);
        Assert.Equal(0, second.ExitCode);
        Assert.Equal(0, reference.ExitCode);

        // The analysis is deterministic, so whichever run's move came last, each file equals a lone run's.
        foreach (var suffix in new[] { ".quant.onnx", ".deps" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(alone, "det" + suffix)), File.ReadAllBytes(Path.Combine(shared, "det" + suffix)));
        }

        Assert.Empty(Directory.GetFiles(shared, "*.tmp"));
        Assert.Equal(modelHash, Sha256(model));
        Assert.Equal(configHash, Sha256(config));
        first.Dispose();
        second.Dispose();
    }

    private const int SigInt = 2;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    [SkippableFact]
    public void InterruptedRunEndsAtOnceWithoutTemporaryFiles()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "The test sends SIGINT with kill(2) and looks for the reference file by process id.");
        var (folder, model, _) = Project(images: 4);
        using var _folder = folder;
        var output = folder.Combine("out");

        // A sweep tries five modes, so it is well inside its trials when the first one is logged.
        using var process = StartInterruptible("sweep", model, "--output", output);
        using var trialsStarted = new ManualResetEventSlim();
        process.OutputDataReceived += (_, line) =>
        {
            if (line.Data?.StartsWith("sweep:", StringComparison.Ordinal) == true)
            {
                trialsStarted.Set();
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Assert.True(trialsStarted.Wait(TimeSpan.FromMinutes(2)), "The sweep logged no trial within 2 minutes.");

        var timer = Stopwatch.StartNew();
        Assert.Equal(0, kill(process.Id, SigInt));
        bool ended = process.WaitForExit(TimeSpan.FromSeconds(20));
        var elapsed = timer.Elapsed;
        if (!ended)
        {
            process.Kill(entireProcessTree: true);
        }

        Assert.True(ended, "kneron-quant did not end within 20 s of SIGINT.");
        Assert.True(elapsed <= TimeSpan.FromSeconds(2), $"kneron-quant ended {elapsed.TotalMilliseconds:0} ms after SIGINT, over 2 s.");

        // 128 + 2: the runtime's default handling of SIGINT, not a normal exit.
        Assert.Equal(130, process.ExitCode);
        Assert.Empty(Directory.GetFiles(folder.Path, "*.tmp", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(Path.GetTempPath(), $"kneron-references-{process.Id}-*"));
        foreach (var suffix in Results)
        {
            Assert.False(File.Exists(Path.Combine(output, "det" + suffix)), $"det{suffix} was written by an interrupted run.");
        }
    }
}
