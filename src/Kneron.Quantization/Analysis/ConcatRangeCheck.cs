using Kneron.Quantization.Diagnostics;
using Kneron.Quantization.Model;
using Kneron.Quantization.Ranges;

namespace Kneron.Quantization.Analysis;

/// <summary>
/// Warns about Concat nodes whose inputs have very different calibrated
/// ranges. A Concat output gets one scale, sized for its widest input, so an
/// input whose range is 100× smaller keeps about 1/100 of the levels (one or
/// two int8 levels), and quantization flattens it.
/// </summary>
public static class ConcatRangeCheck
{
    /// <summary>Ratio of the widest to the narrowest input range at which the warning is reported.</summary>
    public const double RatioLimit = 100;

    /// <summary>The float, input-dependent tensors that feed a Concat; their ranges are calibrated for this check.</summary>
    public static IEnumerable<string> Inputs(OnnxGraph graph, IReadOnlySet<string> floatTensors) =>
        graph.Graph.Node
            .Where(IsConcat)
            .SelectMany(n => n.Input)
            .Where(name => name.Length > 0 && !graph.IsInitializer(name) && floatTensors.Contains(name))
            .Distinct();

    /// <param name="ranges">|x| histograms of at least the tensors <see cref="Inputs"/> returned.</param>
    /// <param name="percentage">The quantile of |x| that sets an int8 scale (<c>percentage</c>, or 1 for minmax).</param>
    public static void Report(OnnxGraph graph, IReadOnlyDictionary<string, AbsHistogram> ranges, double percentage, IDiagnosticSink diagnostics)
    {
        foreach (var node in graph.Graph.Node.Where(IsConcat))
        {
            var inputRanges = node.Input
                .Where(name => ranges.ContainsKey(name))
                .Select(name => (Name: name, Range: ranges[name].Quantile(percentage)))
                .Where(r => r.Range > 0)
                .ToList();
            if (inputRanges.Count < 2)
            {
                continue;
            }

            var widest = inputRanges.MaxBy(r => r.Range);
            var narrowest = inputRanges.MinBy(r => r.Range);
            double ratio = widest.Range / narrowest.Range;
            if (ratio < RatioLimit)
            {
                continue;
            }

            var message = FormattableString.Invariant(
                    $"Concat node '{OnnxGraph.DisplayName(node)}' joins inputs whose ranges differ {ratio:0}×: '{widest.Name}' reaches {widest.Range:G3} and '{narrowest.Name}' only {narrowest.Range:G3}. ")
                + FormattableString.Invariant($"Its output has one scale, so int8 leaves '{narrowest.Name}' about {127 / ratio:0.##} levels. ")
                + "Bring the branches to similar ranges before the Concat (a normalization or a scale in the model), or use a 16-bit datapath (datapath_bitwidth_mode: int16, or a quan_config entry for this node on KL730).";
            diagnostics.Report(new Diagnostic(SimulationCodes.ConcatRangeMismatch, DiagnosticSeverity.Warning, new SourceLocation(graph.Path), message));
        }
    }

    private static bool IsConcat(Onnx.NodeProto node) => node.OpType == "Concat" && node.Domain is "" or "ai.onnx";
}
