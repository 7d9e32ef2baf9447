using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Kneron.Build.Tests.EndToEnd;

/// <summary>
/// Faults around real `dotnet build` runs: two projects analysing one model at
/// once, Ctrl+C while kneron-quant runs, and an analysis folder whose earlier
/// results cannot be deleted. None may leave a torn or mixed
/// artifact, a temporary file, or an artifact a later build takes as current.
/// </summary>
[Collection(DotnetBuildCollection.Name)]
public sealed class BuildFaultTests
{
    private const string FaceConfig = """
        platform: 720
        snr_threshold: 10
        calibration:
          images: images/*
          mean: [127.5]
          std: [127.5]

        """;

    // PP-OCRv4 det at 480x480 on four images: 8 s of analysis when measured alone on the 2-core development machine.
    private const string DetConfig = """
        platform: 720
        on_low_snr: warning
        calibration:
          images: images/*
          mean: [123.675, 116.28, 103.53]
          std: [58.395, 57.12, 57.375]
        inputs:
          x: { shape: [1, 3, 480, 480] }

        """;

    private static readonly string[] Results = { ".quant.onnx", ".quant.json", ".report.html" };

    /// <summary>The time a terminal's Ctrl+C may take to end kneron-quant.</summary>
    private static readonly TimeSpan ChildEndLimit = TimeSpan.FromSeconds(2);

    private const int SigInt = 2;
    private const int SigKill = 9;

    private readonly BuildEnvironment _environment;
    private readonly ITestOutputHelper _log;

    public BuildFaultTests(BuildEnvironment environment, ITestOutputHelper log)
    {
        _environment = environment;
        _environment.RequireInputs();
        _log = log;
    }

    [Fact]
    public async Task TwoProjectsShareModelAtOnce()
    {
        // The model sits beside both projects, so each analyses the same file into its own obj folder.
        const string modelPath = "../shared-model/face.onnx";
        var first = new TestProject(_environment, "shared-model-a");
        first.AddModel(modelPath, FaceConfig, "astronaut.png", "grace_hopper.jpg");
        var second = new TestProject(_environment, "shared-model-b");
        second.ReferenceModel(modelPath);
        var lone = new TestProject(_environment, "shared-model-lone");
        lone.ReferenceModel(modelPath);
        foreach (var project in new[] { first, second, lone })
        {
            project.WriteProjectFile();
        }

        var model = Path.GetFullPath(Path.Combine(first.Folder, modelPath));
        var config = first.ConfigPath(modelPath);
        var modelHash = Sha256(model);
        var configHash = Sha256(config);

        var timer = Stopwatch.StartNew();
        var builds = await Task.WhenAll(new[] { first, second }.Select(project => Task.Run(project.Build)));
        _log.WriteLine($"Two concurrent builds: {timer.Elapsed.TotalSeconds:0.0} s.");
        var alone = lone.Build();

        Assert.True(alone.ExitCode == 0, alone.ToString());
        Assert.Equal(new[] { model }, alone.AnalysedModels);
        var (loneModel, loneSnr) = Artifacts(lone.OutputFolder);
        foreach (var (project, build) in new[] { (first, builds[0]), (second, builds[1]) })
        {
            Assert.True(build.ExitCode == 0, build.ToString());
            Assert.Equal(new[] { model }, build.AnalysedModels);
            var (quantizedModel, snr) = Artifacts(project.OutputFolder);
            Assert.Equal(loneModel, quantizedModel);
            Assert.Equal(loneSnr, snr);
        }

        var folders = new[] { first.Folder, second.Folder, lone.Folder, Path.GetDirectoryName(model)! };
        var temporary = folders.SelectMany(folder => Directory.GetFiles(folder, "*.tmp", SearchOption.AllDirectories)).ToList();
        Assert.True(temporary.Count == 0, "Temporary files left: " + string.Join(", ", temporary));
        Assert.Equal(modelHash, Sha256(model));
        Assert.Equal(configHash, Sha256(config));
    }

    [SkippableFact]
    public void CtrlCEndsAnalysisAndNextBuildRedoesIt()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "The test finds kneron-quant in /proc and signals a process group with setsid and kill(2).");
        Assert.True(File.Exists(_environment.PpOcrDetModel), $"{_environment.PpOcrDetModel} is missing. Run `scripts/fetch-test-models.sh` first.");
        var project = new TestProject(_environment, "ctrl-c");
        project.AddModelFrom(_environment.PpOcrDetModel, "models/det.onnx", DetConfig, "astronaut.png", "coffee.png", "coins.png", "text.png");
        project.WriteProjectFile();
        var model = Path.Combine(project.Folder, "models", "det.onnx");
        var config = project.ConfigPath("models/det.onnx");
        var modelHash = Sha256(model);

        // A complete build first, then a config edit, so that the interrupted build
        // starts with artifacts in obj/ and bin/ that are no longer current.
        var complete = project.Build();
        Assert.True(complete.ExitCode == 0, complete.ToString());
        Assert.True(File.Exists(Path.Combine(project.OutputFolder, "models", "det.quant.onnx")), complete.ToString());
        File.AppendAllText(config, "snr_threshold: 15\n");
        var configHash = Sha256(config);

        var output = new StringBuilder();
        using var build = StartInOwnSession(project, output);
        try
        {
            InterruptAnalysis(build, model, output);
        }
        finally
        {
            // Only on a failed assertion: ends the build and its children, which this test started.
            if (!build.HasExited)
            {
                build.Kill(entireProcessTree: true);
            }
        }

        // Nothing left that a later build could take as current, and no temporary file.
        var analysisFolder = Path.Combine(project.IntermediateFolder, "models", "det");
        foreach (var suffix in Results.Append(".deps").Append(".warnings"))
        {
            Assert.False(File.Exists(Path.Combine(analysisFolder, "det" + suffix)), $"det{suffix} was left in {analysisFolder}.");
        }

        foreach (var suffix in Results)
        {
            Assert.False(File.Exists(Path.Combine(project.OutputFolder, "models", "det" + suffix)), $"det{suffix} was left in the output folder.");
        }

        Assert.Empty(Directory.GetFiles(project.Folder, "*.tmp", SearchOption.AllDirectories));

        var next = project.Build();
        Assert.True(next.ExitCode == 0, next.ToString());
        Assert.Equal(new[] { model }, next.AnalysedModels);
        Assert.True(File.Exists(Path.Combine(project.OutputFolder, "models", "det.quant.onnx")), next.ToString());
        Assert.Equal(modelHash, Sha256(model));
        Assert.Equal(configHash, Sha256(config));
    }

    [SkippableFact]
    public void LockedAnalysisFolderRemovesCopiesAndFails()
    {
        var project = new TestProject(_environment, "locked-analysis-folder");
        project.AddModel("models/x.onnx", FaceConfig, "astronaut.png", "grace_hopper.jpg");
        project.WriteProjectFile();
        var first = project.Build();
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(File.Exists(Path.Combine(project.OutputFolder, "models", "x.quant.onnx")), first.ToString());

        // Root ignores file permissions, but not the immutable flag, which keeps the folder's files.
        File.SetLastWriteTimeUtc(project.ConfigPath("models/x.onnx"), DateTime.UtcNow);
        var analysisFolder = Path.Combine(project.IntermediateFolder, "models", "x");
        var (locked, lockOutput) = RunChattr("+i", analysisFolder);
        Skip.IfNot(locked, $"chattr +i failed, so the folder cannot be locked here: {lockOutput}");
        BuildResult second;
        try
        {
            second = project.Build();
        }
        finally
        {
            var (unlocked, unlockOutput) = RunChattr("-i", analysisFolder);
            Assert.True(unlocked, $"chattr -i {analysisFolder} failed: {unlockOutput}");
        }

        Assert.True(second.ExitCode != 0, second.ToString());
        Assert.Matches(@"error KNQ0801: KneronModel 'models/x\.onnx': could not remove the results of its earlier analysis \(.*x\.deps", second.Output);
        Assert.DoesNotContain("MSB3061", second.Output);
        Assert.Empty(second.AnalysedModels);
        foreach (var suffix in Results)
        {
            Assert.False(File.Exists(Path.Combine(project.OutputFolder, "models", "x" + suffix)), $"x{suffix} was left in the output folder.\n{second}");
        }
    }

    private static (bool Succeeded, string Output) RunChattr(string flag, string path)
    {
        var start = new ProcessStartInfo("chattr") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(flag);
        start.ArgumentList.Add(path);
        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode == 0, output.Trim());
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (false, ex.Message);
        }
    }

    /// <summary>
    /// Waits for kneron-quant to analyse <paramref name="model"/>, sends SIGINT to the
    /// build's process group as a terminal's Ctrl+C does, and checks that the tool ends
    /// within <see cref="ChildEndLimit"/> and the build ends with an error.
    /// </summary>
    private void InterruptAnalysis(Process build, string model, StringBuilder output)
    {
        int child = WaitForTool(model, build, output);

        // Let the analysis get under way (the model loaded, calibration running) before the interrupt.
        Thread.Sleep(TimeSpan.FromSeconds(1.5));
        int group = ProcessGroupOf(child);
        Assert.True(group == build.Id, $"kneron-quant (pid {child}) is in process group {group}, not in the build's group {build.Id}.");
        Assert.NotEqual(ProcessGroupOf(Environment.ProcessId), group);

        // A terminal's Ctrl+C sends SIGINT to every process of the foreground group.
        var timer = Stopwatch.StartNew();
        Assert.True(Kill(-group, SigInt) == 0, $"kill(-{group}, SIGINT) failed with errno {Marshal.GetLastPInvokeError()}.");
        while (IsRunning(child) && timer.Elapsed < TimeSpan.FromSeconds(20))
        {
            Thread.Sleep(10);
        }

        var childEnded = timer.Elapsed;
        bool buildEnded = build.WaitForExit(TimeSpan.FromSeconds(60));
        var buildEndedAfter = timer.Elapsed;
        if (!buildEnded)
        {
            Kill(-group, SigKill);
        }

        build.WaitForExit();
        _log.WriteLine($"After SIGINT: kneron-quant ended in {childEnded.TotalMilliseconds:0} ms, dotnet build in {buildEndedAfter.TotalMilliseconds:0} ms (exit code {build.ExitCode}).");
        Assert.True(buildEnded, $"dotnet build did not end within 60 s of SIGINT.\n{output}");
        Assert.True(childEnded <= ChildEndLimit, $"kneron-quant ended {childEnded.TotalMilliseconds:0} ms after SIGINT, over {ChildEndLimit.TotalSeconds} s.");
        Assert.NotEqual(0, build.ExitCode);
        Assert.DoesNotContain("KNQ0701", output.ToString());
    }

    private static Process StartInOwnSession(TestProject project, StringBuilder output)
    {
        try
        {
            return project.StartBuild(output, inOwnSession: true);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new SkipException($"setsid could not be started ({ex.Message}); install util-linux.");
        }
    }

    /// <summary>
    /// Returns the id of the kneron-quant process analysing <paramref name="model"/>,
    /// found in /proc by its command line. The model's path is unique to this test,
    /// so another build on the machine is never taken for this one.
    /// </summary>
    private static int WaitForTool(string model, Process build, StringBuilder output)
    {
        var timer = Stopwatch.StartNew();
        while (timer.Elapsed < TimeSpan.FromMinutes(3))
        {
            foreach (var folder in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(folder), out int pid))
                {
                    continue;
                }

                string commandLine;
                try
                {
                    commandLine = File.ReadAllText(Path.Combine(folder, "cmdline")).Replace('\0', ' ');
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    continue; // The process ended while the folder was listed.
                }

                if (commandLine.Contains("kneron-quant") && commandLine.Contains(model))
                {
                    return pid;
                }
            }

            Assert.False(build.HasExited, $"dotnet build ended before kneron-quant started.\n{output}");
            Thread.Sleep(50);
        }

        Assert.Fail($"kneron-quant did not start within 3 minutes.\n{output}");
        return 0;
    }

    /// <summary>Returns field 5 (pgrp) of /proc/PID/stat, counted after field 2, the command name in brackets, which may contain spaces.</summary>
    private static int ProcessGroupOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Whether the process exists and is not a zombie waiting for its parent to reap it.</summary>
    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2] != 'Z';
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The quantized model's bytes and the SNR per output (dB) from the quantization table.</summary>
    private static (byte[] QuantizedModel, string Snr) Artifacts(string outputFolder)
    {
        var quantizedModel = File.ReadAllBytes(Path.Combine(outputFolder, "face.quant.onnx"));
        using var table = JsonDocument.Parse(File.ReadAllText(Path.Combine(outputFolder, "face.quant.json")));
        var snr = string.Join(", ", table.RootElement.GetProperty("outputs").EnumerateArray()
            .Select(output => $"{output.GetProperty("name").GetString()}={output.GetProperty("snr_db").GetDouble()}"));
        Assert.True(File.Exists(Path.Combine(outputFolder, "face.report.html")), $"face.report.html is missing in {outputFolder}.");
        return (quantizedModel, snr);
    }

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
