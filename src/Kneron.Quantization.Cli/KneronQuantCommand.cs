using System.CommandLine;
using System.Reflection;
using Kneron.Quantization.Diagnostics;

namespace Kneron.Quantization.Cli;

/// <summary>
/// The command line of <c>kneron-quant</c>. Diagnostics go to standard error
/// in MSBuild's canonical form; progress and, last, one summary line per
/// model go to standard output.
/// </summary>
public static class KneronQuantCommand
{
    public static string ToolVersion =>
        typeof(KneronQuantCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var modelArgument = new Argument<FileInfo>("model") { Description = "The ONNX model to quantize." };
        var configOption = new Option<FileInfo?>("--config")
        {
            Description = "The quantization config (YAML). Default: <model folder>/<model name>.quant.yaml.",
        };
        var outputOption = new Option<DirectoryInfo?>("--output")
        {
            Description = "Folder for the artifacts. Default: the current folder.",
        };
        var setOption = new Option<string[]>("--set")
        {
            Description = "Overrides one config key, as key=value (dotted keys reach into sections, e.g. calibration.max_samples=8). Repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        var cacheOption = new Option<DirectoryInfo?>("--cache-dir")
        {
            Description = "Folder of the results cache: an analysis with identical inputs is copied from there instead of run again. "
                + "Default: the KNERON_CACHE_DIR environment variable; no cache when neither is set.",
        };
        var overridesSourceOption = new Option<FileInfo?>("--overrides-source")
        {
            Description = "The file that set the --set values (such as a project file); errors about them point there.",
        };

        Command Define(string name, string description, bool sweep)
        {
            var command = new Command(name, description)
            {
                modelArgument, configOption, outputOption, setOption, overridesSourceOption, cacheOption,
            };
            command.SetAction(parseResult =>
            {
                var request = new AnalyzeRequest(
                    parseResult.GetValue(modelArgument)!.FullName,
                    parseResult.GetValue(configOption)?.FullName,
                    parseResult.GetValue(outputOption)?.FullName ?? Directory.GetCurrentDirectory(),
                    parseResult.GetValue(setOption) ?? Array.Empty<string>(),
                    parseResult.GetValue(overridesSourceOption)?.FullName,
                    sweep,
                    parseResult.GetValue(cacheOption)?.FullName ?? Environment.GetEnvironmentVariable("KNERON_CACHE_DIR"));
                return new AnalyzeCommand(output, error).Execute(request);
            });
            return command;
        }

        var root = new RootCommand("kneron-quant: post-training quantization analysis for Kneron NPUs (KL520, KL530, KL630, KL720, KL730).")
        {
            Define("analyze", "Quantize a model, simulate it and measure the SNR of its outputs against the float model.", sweep: false),
            Define("sweep", "Run every bit-width mode the platform allows (int8, mix light, mixbw, mix balance, int16) and chart SNR against "
                + "estimated FPS; keeps the cheapest mode that meets snr_threshold.", sweep: true),
        };

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // "Required command was not provided" only repeats what a more specific error reports.
            var errors = parsed.Errors.Count > 1
                ? parsed.Errors.Where(e => !e.Message.Contains("Required command", StringComparison.Ordinal)).ToList()
                : parsed.Errors.ToList();
            foreach (var parseError in errors)
            {
                error.WriteLine(new Diagnostic(GeneralCodes.InvalidCommandLine, DiagnosticSeverity.Error, new SourceLocation("kneron-quant"),
                    $"{parseError.Message} Run 'kneron-quant --help' for usage."));
            }

            return ExitCodes.InvalidInput;
        }

        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }
}
