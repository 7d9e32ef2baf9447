using Kneron.Quantization.Cli;

namespace Kneron.Quantization.Tests;

/// <summary>Runs <c>kneron-quant</c> in the test process and captures its exit code, output and errors.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error)
{
    public static CliResult Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = KneronQuantCommand.Run(args, output, error);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    public IEnumerable<string> ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
