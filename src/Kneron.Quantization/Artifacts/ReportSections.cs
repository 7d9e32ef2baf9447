using System.Globalization;
using System.Text;
using Kneron.Quantization.Analysis;

namespace Kneron.Quantization.Artifacts;

/// <summary>The report's chart, assumption and layer sections.</summary>
internal static class ReportSections
{
    public static void AppendModes(StringBuilder html, AnalysisResult result)
    {
        html.AppendLine("<h2 id=\"modes\">SNR and FPS of the modes tried</h2>");
        if (result.ModesTried.Count == 0)
        {
            html.AppendLine("<p class=\"note\">No mode has an FPS estimate.</p>");
            return;
        }

        html.AppendLine("<p class=\"note\">FPS values are estimates of NPU time (CPU nodes excluded), not measurements. The ringed point is the chosen mode.</p>");
        html.Append(SvgCharts.SnrFps(result.ModesTried, result.SnrThresholdDb));
        html.AppendLine("<table><tr><th>datapath</th><th>weight</th><th>SNR</th><th>FPS (estimate)</th><th></th></tr>");
        foreach (var mode in result.ModesTried)
        {
            html.AppendLine($"<tr><td>{ReportWriter.Encode(mode.DatapathBitwidthMode)}</td><td>{ReportWriter.Encode(mode.WeightBitwidthMode)}</td>"
                + $"<td class=\"num\">{ReportWriter.Db(mode.SnrDb)}</td><td class=\"num\">{mode.Fps.ToString("0.#", CultureInfo.InvariantCulture)}</td>"
                + $"<td>{(mode.Chosen ? "chosen" : "")}</td></tr>");
        }

        html.AppendLine("</table>");
    }

    /// <summary>Draws the mixbw sensitivity chart; writes nothing when there is no sensitivity data.</summary>
    public static void AppendSensitivity(StringBuilder html, AnalysisResult result)
    {
        if (result.Sensitivity.Count == 0)
        {
            return;
        }

        html.AppendLine("<h2 id=\"sensitivity\">mixbw sensitivity</h2>");
        html.AppendLine("<p class=\"note\">Predicted model-output SNR with only that Conv node's datapath or weight at 8 bits and every other tensor at 16 bits. "
            + "Lower SNR means a more sensitive node; mixbw promotes the most sensitive nodes to 16 bits first.</p>");
        html.Append(SvgCharts.Sensitivity(result.Sensitivity));
    }

    public static void AppendFpsAssumptions(StringBuilder html, AnalysisResult result)
    {
        if (result.FpsEstimate is not { } estimate)
        {
            return;
        }

        html.AppendLine("<h2 id=\"fps\">FPS estimate</h2>");
        html.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"<p>~{estimate.Fps:0.#} FPS ({estimate.TimeMs:0.###} ms) on KL{(int)estimate.Platform}: an estimate from a per-layer roofline, time = max(MACs / effective MAC rate, bytes / effective bandwidth), summed over NPU nodes.</p>"));
        html.AppendLine("<ul class=\"note\">");
        foreach (var assumption in estimate.Assumptions)
        {
            html.AppendLine($"<li>{ReportWriter.Encode(assumption)}</li>");
        }

        html.AppendLine("</ul>");
    }

    public static void AppendLayers(StringBuilder html, AnalysisResult result)
    {
        var ranges = result.Table.GroupBy(t => t.Name).ToDictionary(g => g.Key, g => g.First());
        html.AppendLine("<h2 id=\"layers\">Layers</h2>");
        html.AppendLine("<p class=\"note\">SNR is the layer's quantized output in the fully quantized run against the float model (the error accumulated up to it); "
            + "local SNR is the same output against its own value just before quantization (this layer's own rounding and clipping). "
            + "Range is the calibrated range of the layer's quantized output. Estimated time is the roofline estimate; CPU nodes and nodes fused into the node before them take none.</p>");
        html.AppendLine("<div class=\"scroll\"><table id=\"layer-table\"><tr><th>node</th><th>op</th><th>category</th><th>datapath bits</th><th>weight bits</th><th>range</th>"
            + "<th>SNR (dB)</th><th>local SNR (dB)</th><th>MACs</th><th>est. time (ms)</th><th>bound</th></tr>");
        foreach (var layer in result.Layers)
        {
            var estimate = result.FpsEstimate?.ForNode(layer.Node);
            var range = layer.Tensor is not null && ranges.TryGetValue(layer.Tensor, out var tensor)
                ? string.Create(CultureInfo.InvariantCulture, $"[{tensor.RangeMin:G4}, {tensor.RangeMax:G4}]")
                : "";
            html.AppendLine($"<tr class=\"{layer.Category}\"><td>{ReportWriter.Encode(layer.Node)}</td><td>{ReportWriter.Encode(layer.OpType)}</td><td>{layer.Category}</td>"
                + $"<td class=\"num\">{layer.DatapathBits?.ToString(CultureInfo.InvariantCulture) ?? ""}</td><td class=\"num\">{layer.WeightBits?.ToString(CultureInfo.InvariantCulture) ?? ""}</td>"
                + $"<td class=\"num\">{ReportWriter.Encode(range)}</td>"
                + $"<td class=\"num\">{(layer.SnrDb is { } s ? ReportWriter.Db(s) : "")}</td><td class=\"num\">{(layer.SnrDbLocal is { } l ? ReportWriter.Db(l) : "")}</td>"
                + $"<td class=\"num\">{(estimate is { Macs: > 0 } ? estimate.Macs.ToString("N0", CultureInfo.InvariantCulture) : "")}</td>"
                + $"<td class=\"num\">{(estimate is { TimeMs: > 0 } ? estimate.TimeMs.ToString("0.0000", CultureInfo.InvariantCulture) : "")}</td>"
                + $"<td>{(estimate?.Bound is { } bound ? bound.ToString().ToLowerInvariant() : "")}</td></tr>");
        }

        html.AppendLine("</table></div>");
    }
}
