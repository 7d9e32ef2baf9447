using System.Diagnostics;
using System.Text;

namespace Kneron.Corpus.Tests;

/// <summary>How one run of <c>kneron-quant</c> ended; <see cref="TimedOut"/> runs were killed and have no exit code.</summary>
public sealed record CliRun(int ExitCode, bool TimedOut, string Output, string Error, TimeSpan Elapsed);

/// <summary>Runs the built <c>kneron-quant.dll</c> as a child process under <c>dotnet</c>, with a time limit.</summary>
public static class CliProcess
{
    /// <summary>Returns the Release build of the CLI, found by walking up from the test assembly to the repository.</summary>
    public static string FindToolDll()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null)
        {
            var candidate = Path.Combine(directory.FullName, "src", "Kneron.Quantization.Cli", "bin", "Release", "net10.0", "kneron-quant.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }

            directory = directory.Parent;
        }

        throw new FileNotFoundException(
            "src/Kneron.Quantization.Cli/bin/Release/net10.0/kneron-quant.dll was not found above " + AppContext.BaseDirectory
            + "; build the solution with -c Release first.");
    }

    /// <summary>The repository root: the folder above the test assembly that holds Kneron.Build.sln.</summary>
    public static string FindRepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Kneron.Build.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new DirectoryNotFoundException("Kneron.Build.sln was not found above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// Runs <c>dotnet toolDll args…</c> and waits at most <paramref name="timeout"/>;
    /// on a time-out it kills the child and its descendants, which only this call started.
    /// </summary>
    public static CliRun Run(string toolDll, IReadOnlyList<string> args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(toolDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var output = new StringBuilder();
        var error = new StringBuilder();
        var watch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (error) error.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        bool exited = process.WaitForExit(timeout);
        if (!exited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return new CliRun(-1, true, output.ToString(), error.ToString(), watch.Elapsed);
        }

        // The parameterless wait also drains the redirected streams.
        process.WaitForExit();
        return new CliRun(process.ExitCode, false, output.ToString(), error.ToString(), watch.Elapsed);
    }
}
