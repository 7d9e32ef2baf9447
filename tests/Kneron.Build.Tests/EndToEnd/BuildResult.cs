using System.Text.RegularExpressions;

namespace Kneron.Build.Tests.EndToEnd;

/// <summary>The exit code and console output of one `dotnet build`.</summary>
public sealed record BuildResult(int ExitCode, string Output)
{
    /// <summary>
    /// Models kneron-quant was started on, read from the command lines the
    /// task logs at normal verbosity (<c>... kneron-quant.dll analyze &lt;model&gt; ...</c>).
    /// </summary>
    public IReadOnlyList<string> AnalysedModels =>
        Regex.Matches(Output, @"kneron-quant\.dll""? analyze ""?(?<model>.+?\.onnx)""? --config")
            .Select(match => match.Groups["model"].Value)
            .ToList();

    // The compiler's command line alone runs to 20,000 characters; it is cut
    // so that a failure message shows the lines that matter.
    public override string ToString() =>
        $"exit code {ExitCode}\n" + string.Join("\n", Output.Split('\n').Select(line => line.Length > 500 ? line[..500] + " ..." : line));
}
