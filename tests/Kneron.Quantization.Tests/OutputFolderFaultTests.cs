using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.Versioning;
using System.Security.Cryptography;

namespace Kneron.Quantization.Tests;

/// <summary>
/// Output folders that cannot take the artifacts, made for real: a small tmpfs
/// filled until one artifact no longer fits, a read-only tmpfs, and a folder
/// the running user may not write. The mounts are made in a private mount
/// namespace (<c>unshare --mount</c>), so they are invisible outside the test's
/// shell and vanish when it ends. Runs the built CLI, as the build task does.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class OutputFolderFaultTests
{
    private const string Name = "ppocr_cls";

    /// <summary>The files one run writes, in the order it writes them.</summary>
    private static readonly string[] WriteOrder = { ".deps", ".quant.onnx", ".quant.json", ".report.html" };

    /// <summary>tmpfs allocates whole pages of 4096 bytes (x86-64 and arm64 Linux).</summary>
    private const long PageBytes = 4096;

    private sealed record Run(int ExitCode, string Output, string Error)
    {
        /// <summary>Returns the value of the <c>key=value</c> line a test script printed.</summary>
        public int Marker(string key)
        {
            var line = Output.Split('\n').LastOrDefault(l => l.StartsWith(key + "=", StringComparison.Ordinal));
            Assert.True(line is not null, $"The script printed no {key}= line. Output:\n{Output}\nErrors:\n{Error}");
            return int.Parse(line![(key.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    [SkippableFact]
    public void FullDiskLeavesNoArtifact()
    {
        var (folder, model, config) = Project();
        using var _folder = folder;
        var unshare = MountNamespaceOptions(folder);
        var modelHash = Sha256(model);
        var configHash = Sha256(config);

        var reference = folder.Combine("reference");
        var lone = Wait(StartCli(model, reference));
        Assert.True(lone.ExitCode == 0, lone.Error);
        var sizes = WriteOrder.Select(suffix => new FileInfo(Path.Combine(reference, Name + suffix)).Length).ToArray();
        long diskBytes = sizes.Sum(RoundUpToPage) + 64 * PageBytes;

        // Mount a tmpfs, fill it until only `free` bytes are left, run, keep a copy of
        // what the run left, then delete the filler and run again into the same folder.
        const string script = """
            set -e
            mount -t tmpfs -o "size=$2" tmpfs "$1"
            head -c "$3" /dev/zero > "$1/filler"
            set +e
            dotnet "$4" analyze "$5" --output "$1/out"
            echo "exit=$?"
            mkdir -p "$6"
            if [ -d "$1/out" ]; then cp -a "$1/out/." "$6/"; fi
            rm "$1/filler"
            dotnet "$4" analyze "$5" --output "$1/out" > /dev/null
            echo "rerun=$?"
            mkdir -p "$7"
            cp -a "$1/out/." "$7/"
            """;

        for (int failing = 0; failing < WriteOrder.Length; failing++)
        {
            // Room for the files written before the failing one and half of it.
            long free = sizes.Take(failing).Sum(RoundUpToPage) + sizes[failing] / 2 / PageBytes * PageBytes;
            var mountPoint = Directory.CreateDirectory(folder.Combine($"disk-{failing}")).FullName;
            var left = folder.Combine($"left-{failing}");
            var rerun = folder.Combine($"rerun-{failing}");

            var run = Wait(StartShell(unshare, script,
                mountPoint, diskBytes.ToString(), (diskBytes - free).ToString(), BuiltCli.Path(), model, left, rerun));

            var artifact = Path.Combine(mountPoint, "out", Name + WriteOrder[failing]);
            Assert.True(run.Marker("exit") == 2, $"With {free} bytes free: expected exit 2. Errors:\n{run.Error}");
            Assert.Contains("error KNQ0801", run.Error);
            Assert.Contains($"Could not write '{artifact}': the disk is full", run.Error);
            Assert.DoesNotContain("KNQ0099", run.Error);

            // No temporary file, and no result or dependency list a build could take as current.
            Assert.Empty(Directory.GetFileSystemEntries(left));

            Assert.True(run.Marker("rerun") == 0, $"The run after freeing space failed. Errors:\n{run.Error}");
            Assert.Equal(File.ReadAllBytes(Path.Combine(reference, Name + ".quant.onnx")), File.ReadAllBytes(Path.Combine(rerun, Name + ".quant.onnx")));
            Assert.Empty(Directory.GetFiles(rerun, "*.tmp"));
        }

        Assert.Equal(modelHash, Sha256(model));
        Assert.Equal(configHash, Sha256(config));
    }

    [SkippableFact]
    public void ReadOnlyFileSystemFailsBeforeAnalysis()
    {
        var (folder, model, config) = Project();
        using var _folder = folder;
        var unshare = MountNamespaceOptions(folder);
        var configHash = Sha256(config);
        var mountPoint = Directory.CreateDirectory(folder.Combine("readonly")).FullName;

        // The output folder is the read-only mount itself, then a folder to be made in it.
        const string script = """
            set -e
            mount -t tmpfs -o ro,size=64k tmpfs "$1"
            set +e
            dotnet "$2" analyze "$3" --output "$1/$4"
            echo "exit=$?"
            """;

        foreach (var (output, named) in new[] { ("", mountPoint), ("out", Path.Combine(mountPoint, "out")) })
        {
            var run = Wait(StartShell(unshare, script, mountPoint, BuiltCli.Path(), model, output));

            Assert.True(run.Marker("exit") == 2, $"--output {named}: expected exit 2. Errors:\n{run.Error}");
            Assert.Contains("error KNQ0801", run.Error);
            Assert.Contains($"'{named.TrimEnd('/')}", run.Error);
            Assert.Contains("the file system is read-only", run.Error);
            Assert.DoesNotContain("Calibrating", run.Output);
        }

        Assert.Equal(configHash, Sha256(config));
    }

    [SkippableFact]
    public void UnwritableFolderFailsBeforeAnalysis()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "The test sets Unix permissions and switches users with setpriv.");
        var (folder, model, config) = Project();
        using var _folder = folder;
        var configHash = Sha256(config);
        var locked = Directory.CreateDirectory(folder.Combine("locked")).FullName;

        // The folder is made read-only. Root ignores permissions through its DAC capabilities, so as root
        // the CLI runs with them dropped: it can still read the build, which root owns, wherever it is.
        File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        bool withoutOverride = Environment.UserName == "root";
        if (withoutOverride)
        {
            Run probe;
            try
            {
                probe = Wait(StartCli(withoutOverride, "--version"));
            }
            catch (Win32Exception ex)
            {
                throw new SkipException($"setpriv could not be started ({ex.Message}); install util-linux.");
            }

            Skip.If(probe.ExitCode != 0, $"The CLI cannot run without the DAC capabilities (setpriv --bounding-set): {probe.Error.Trim()}");
        }

        foreach (var output in new[] { locked, Path.Combine(locked, "out") })
        {
            var run = Wait(StartCli(withoutOverride, "analyze", model, "--output", output));

            Assert.True(run.ExitCode == 2, $"--output {output}: expected exit 2. Errors:\n{run.Error}");
            Assert.Contains("error KNQ0801", run.Error);
            Assert.Contains($"Could not write the artifacts to '{output}': permission denied", run.Error);
            Assert.DoesNotContain("warning", run.Error);
            Assert.DoesNotContain("Calibrating", run.Output);
            Assert.Empty(Directory.GetFileSystemEntries(locked));
        }

        Assert.Equal(configHash, Sha256(config));
    }

    private static (TestFolder Folder, string Model, string Config) Project()
    {
        var folder = new TestFolder();
        var model = folder.Combine(Name + ".onnx");
        File.Copy(TestModels.ModelPath(Name), model);
        foreach (var image in new[] { "text.png", "coins.png" })
        {
            Directory.CreateDirectory(folder.Combine("calib"));
            File.Copy(Path.Combine(TestFolder.DataFolder(), "images", image), folder.Combine("calib/" + image));
        }

        var config = folder.WriteText(Name + ".quant.yaml",
            "platform: 720\non_low_snr: warning\ncalibration:\n  images: \"calib/*\"\n  resize_mode: stretch\n"
            + "  mean: [127.5, 127.5, 127.5]\n  std: [127.5, 127.5, 127.5]\ninputs:\n  x: { shape: [1, 3, 48, 192] }\n");
        return (folder, model, config);
    }

    /// <summary>
    /// Returns the <c>unshare</c> options that give a shell a mount namespace in
    /// which it may mount a tmpfs: <c>--mount</c> as root, else also a user
    /// namespace that maps this user to root. Skips the test, with the reason,
    /// where neither works (no util-linux, a container without the capability).
    /// </summary>
    private static string[] MountNamespaceOptions(TestFolder folder)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "tmpfs and mount namespaces exist on Linux only.");
        var probeFolder = Directory.CreateDirectory(folder.Combine("probe")).FullName;
        var failures = new List<string>();
        foreach (var options in new[] { new[] { "--mount" }, new[] { "--user", "--map-root-user", "--mount" } })
        {
            Run probe;
            try
            {
                probe = Wait(StartShell(options, "mount -t tmpfs -o size=64k tmpfs \"$1\"", probeFolder));
            }
            catch (Win32Exception ex)
            {
                throw new SkipException($"unshare could not be started ({ex.Message}); install util-linux.");
            }

            if (probe.ExitCode == 0)
            {
                return options;
            }

            failures.Add($"unshare {string.Join(' ', options)}: {probe.Error.Trim()}");
        }

        throw new SkipException("No mount namespace could mount a tmpfs here: " + string.Join("; ", failures));
    }

    private static Process StartShell(string[] unshareOptions, string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var option in unshareOptions)
        {
            start.ArgumentList.Add(option);
        }

        // sh -c SCRIPT NAME ARGS passes the arguments to the script as $1, $2, ..., so paths need no quoting here.
        foreach (var argument in new[] { "sh", "-c", script, "sh" }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    private static Process StartCli(string model, string output) => StartCli(false, "analyze", model, "--output", output);

    /// <summary>
    /// Starts the CLI, with <paramref name="withoutOverride"/> through <c>setpriv</c> with the
    /// capabilities that let root ignore file permissions removed from its bounding set.
    /// </summary>
    private static Process StartCli(bool withoutOverride, params string[] arguments)
    {
        var start = new ProcessStartInfo(withoutOverride ? "setpriv" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (withoutOverride)
        {
            foreach (var option in new[] { "--bounding-set=-dac_override,-dac_read_search,-fowner", "dotnet" })
            {
                start.ArgumentList.Add(option);
            }
        }

        start.ArgumentList.Add(BuiltCli.Path());
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    /// <summary>Waits up to 2 minutes, reading both streams as they come so that neither pipe fills up.</summary>
    private static Run Wait(Process process)
    {
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"{process.StartInfo.FileName} did not end within 2 minutes.");
            }

            return new Run(process.ExitCode, output.Result, error.Result);
        }
    }

    private static long RoundUpToPage(long bytes) => (bytes + PageBytes - 1) / PageBytes * PageBytes;

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
}
