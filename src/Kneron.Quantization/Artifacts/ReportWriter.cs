using System.Globalization;
using System.Net;
using System.Text;
using Kneron.Quantization.Analysis;
using Kneron.Quantization.Config;
using Kneron.Quantization.Planning;

namespace Kneron.Quantization.Artifacts;

/// <summary>
/// Writes the analysis report as one self-contained HTML file (no scripts,
/// no network): a summary, the SNR of each output against the threshold,
/// and a per-layer table with bit widths and per-layer SNR.
/// </summary>
public static class ReportWriter
{
    public static string Render(AnalysisResult result, string toolVersion, bool failed)
    {
        var config = result.Config;
        var html = new StringBuilder();
        var title = $"{Path.GetFileName(result.ModelPath)} quantization analysis";
        html.AppendLine("<!DOCTYPE html>");
        html.AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
        html.AppendLine($"<title>{Encode(title)}</title>");
        html.AppendLine("<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
            + "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}"
            + ".pass{color:#116611;font-weight:bold}.fail{color:#aa1111;font-weight:bold}</style>");
        html.AppendLine("</head><body>");
        html.AppendLine($"<h1>{Encode(title)}</h1>");
        if (failed)
        {
            html.AppendLine($"<p class=\"fail\">The SNR of at least one output is below the threshold of {Db(result.SnrThresholdDb)}; no quantized model was written.</p>");
        }

        html.AppendLine("<h2 id=\"summary\">Summary</h2><table>");
        Row(html, "Platform", "KL" + (int)config.Platform.Value);
        Row(html, "Datapath bit width", ModeResolver.ModeName(result.Mode.Datapath) + (config.DatapathBitwidthMode.Value == BitwidthMode.Auto ? " (chosen by auto)" : ""));
        Row(html, "Weight bit width", ModeResolver.ModeName(result.Mode.Weight));
        Row(html, "Conv MACs at 16 bit", (result.SixteenBitConvShare * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %");
        Row(html, "Model input / output / CPU node / constant bit widths",
            $"int{(int)result.Bits.ModelIn} / int{(int)result.Bits.ModelOut} / int{(int)result.Bits.CpuNode} / int{(int)result.Bits.ConstIn}");
        Row(html, "Range method", $"{config.DatapathRangeMethod.Value.ToString().ToLowerInvariant()} (percentage {config.Percentage.Value}, percentage_16b {config.Percentage16b.Value})");
        Row(html, "SNR (minimum over outputs)", $"{Db(result.SnrDb)} (threshold {Db(result.SnrThresholdDb)})");
        Row(html, "Calibration samples", $"{result.Calibration.Count} of {result.Calibration.MatchedFiles.Count} matched files");
        Row(html, "SNR measured on", result.Evaluation is null ? "the calibration samples" : $"a separate evaluation set of {result.Evaluation.Count} samples");
        Row(html, "CPU nodes", result.CpuNodes.Count == 0 ? "none" : string.Join(", ", result.CpuNodes));
        Row(html, "Tool version", toolVersion);
        Row(html, "Time taken", result.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s");
        html.AppendLine("</table>");

        html.AppendLine("<h2 id=\"outputs\">SNR per output</h2><table><tr><th>output</th><th>evaluated tensor</th><th>SNR (dB)</th><th>result</th></tr>");
        foreach (var output in result.Outputs)
        {
            bool pass = output.SnrDb >= result.SnrThresholdDb;
            html.AppendLine($"<tr><td>{Encode(output.Name)}</td><td>{Encode(output.EvaluatedTensor)}</td><td class=\"num\">{Db(output.SnrDb)}</td>"
                + $"<td class=\"{(pass ? "pass" : "fail")}\">{(pass ? "pass" : "below threshold")}</td></tr>");
        }

        html.AppendLine("</table>");

        html.AppendLine("<h2 id=\"layers\">Layers</h2>");
        html.AppendLine("<p>SNR is the layer's quantized output in the fully quantized run against the float model (the error accumulated up to it); "
            + "local SNR is the same output against its own value just before quantization (this layer's own rounding and clipping).</p>");
        html.AppendLine("<table><tr><th>node</th><th>op</th><th>category</th><th>datapath bits</th><th>weight bits</th><th>SNR (dB)</th><th>local SNR (dB)</th></tr>");
        foreach (var layer in result.Layers)
        {
            html.AppendLine($"<tr><td>{Encode(layer.Node)}</td><td>{Encode(layer.OpType)}</td><td>{layer.Category}</td>"
                + $"<td class=\"num\">{layer.DatapathBits?.ToString() ?? ""}</td><td class=\"num\">{layer.WeightBits?.ToString() ?? ""}</td>"
                + $"<td class=\"num\">{(layer.SnrDb is { } s ? Db(s) : "")}</td><td class=\"num\">{(layer.SnrDbLocal is { } l ? Db(l) : "")}</td></tr>");
        }

        html.AppendLine("</table></body></html>");
        return html.ToString();
    }

    public static string Db(double value) =>
        double.IsPositiveInfinity(value) ? "+∞ dB" : (Math.Round(value, 2) + 0.0).ToString("0.00", CultureInfo.InvariantCulture) + " dB";

    private static void Row(StringBuilder html, string name, string value) =>
        html.AppendLine($"<tr><th>{Encode(name)}</th><td>{Encode(value)}</td></tr>");

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
