namespace Kneron.Build.Tests;

/// <summary>
/// Writes a script that replaces kneron-quant in unit tests: it prints the
/// given lines, optionally waits, and exits with the given code. It tests the
/// task's own handling of crashes and cancellation, which the real tool cannot
/// be made to produce on demand.
/// </summary>
internal static class FakeTool
{
    /// <summary>
    /// Writes the script. Unless <paramref name="echoArguments"/> is false, its
    /// last output line echoes its arguments, so the task's summary line shows them.
    /// </summary>
    public static string Write(string folder, int exitCode, IEnumerable<string> standardOutput, IEnumerable<string> standardError, int waitSeconds = 0, bool echoArguments = true)
    {
        Directory.CreateDirectory(folder);
        if (OperatingSystem.IsWindows())
        {
            var script = Path.Combine(folder, "kneron-quant.cmd");
            var lines = new List<string> { "@echo off" };
            lines.AddRange(standardOutput.Select(line => "echo " + line));
            lines.AddRange(standardError.Select(line => "echo " + line + " 1>&2"));
            if (echoArguments)
            {
                lines.Add("echo %*");
            }

            if (waitSeconds > 0)
            {
                lines.Add($"timeout /t {waitSeconds} /nobreak >nul");
            }

            lines.Add($"exit /b {exitCode}");
            File.WriteAllLines(script, lines);
            return script;
        }

        var path = Path.Combine(folder, "kneron-quant.sh");
        var body = new List<string> { "#!/bin/sh" };
        body.AddRange(standardOutput.Select(line => $"printf '%s\\n' {ShellQuote(line)}"));
        body.AddRange(standardError.Select(line => $"printf '%s\\n' {ShellQuote(line)} >&2"));
        if (echoArguments)
        {
            body.Add("echo \"$@\"");
        }

        if (waitSeconds > 0)
        {
            body.Add($"sleep {waitSeconds}");
        }

        body.Add($"exit {exitCode}");
        File.WriteAllText(path, string.Join("\n", body) + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    // Single-quotes a line for sh; a quote inside becomes '\'' (close, escaped quote, reopen).
    private static string ShellQuote(string line) => "'" + line.Replace("'", "'\\''") + "'";
}
