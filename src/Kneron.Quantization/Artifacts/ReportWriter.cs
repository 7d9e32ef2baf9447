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
/// the SNR–FPS chart of the modes tried, the mixbw sensitivity chart when
/// there is sensitivity data, and a per-layer table with bit widths, range,
/// per-layer SNR, MACs and estimated time.
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
        html.AppendLine("<style>body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#1f2937}"
            + "h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #e5e7eb;padding-bottom:.2em}table{border-collapse:collapse;margin:1em 0}"
            + "th,td{border:1px solid #d1d5db;padding:.3em .6em;text-align:left}th{background:#f3f4f6;white-space:nowrap}.scroll{overflow-x:auto}#layer-table td:first-child,#noisiest-table td:first-child{overflow-wrap:anywhere;min-width:14em}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
            + "tr.cpu td{color:#6b7280}.pass{color:#116611;font-weight:bold}.fail{color:#aa1111;font-weight:bold}.note{color:#4b5563;font-size:.92em}"
            + "svg{display:block;margin:1em 0;background:#fff}svg text{fill:#1f2937}svg .axis-label{font-weight:600}</style>");
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
        Row(html, "FPS (estimate)", result.FpsEstimate is { } fps
            ? string.Create(CultureInfo.InvariantCulture, $"~{fps.Fps:0.#} FPS, {fps.TimeMs:0.###} ms per inference on the NPU (estimate, CPU nodes excluded)")
            : "not estimated");
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

        AppendNoisiestLayers(html, result, failed);
        ReportSections.AppendModes(html, result);
        ReportSections.AppendSensitivity(html, result);
        ReportSections.AppendFpsAssumptions(html, result);
        ReportSections.AppendLayers(html, result);
        html.AppendLine("</body></html>");
        return html.ToString();
    }

    /// <summary>
    /// Lists the ten layers with the lowest local SNR (their own rounding and
    /// clipping), the first place to look when an output misses the threshold,
    /// and, for a failed run, what usually helps.
    /// </summary>
    private static void AppendNoisiestLayers(StringBuilder html, AnalysisResult result, bool failed)
    {
        var noisiest = result.Layers.Where(l => l.SnrDbLocal is not null).OrderBy(l => l.SnrDbLocal).Take(10).ToList();
        if (noisiest.Count == 0)
        {
            return;
        }

        html.AppendLine("<h2 id=\"noisiest\">Noisiest layers</h2>");
        html.AppendLine("<p>The layers whose own quantization loses most (lowest local SNR). A layer with a low local SNR and "
            + "a large drop in accumulated SNR after it is the one to move to 16 bit.</p>");
        html.AppendLine("<table id=\"noisiest-table\"><tr><th>node</th><th>op</th><th>datapath bits</th><th>weight bits</th><th>local SNR (dB)</th><th>accumulated SNR (dB)</th></tr>");
        foreach (var layer in noisiest)
        {
            html.AppendLine($"<tr><td>{Encode(layer.Node)}</td><td>{Encode(layer.OpType)}</td><td class=\"num\">{layer.DatapathBits}</td>"
                + $"<td class=\"num\">{layer.WeightBits?.ToString() ?? ""}</td><td class=\"num\">{Db(layer.SnrDbLocal!.Value)}</td>"
                + $"<td class=\"num\">{(layer.SnrDb is { } snr ? Db(snr) : "")}</td></tr>");
        }

        html.AppendLine("</table>");
        if (failed)
        {
            html.AppendLine("<p>What usually helps: <code>datapath_bitwidth_mode: auto</code> to let the analysis try the mixed modes; "
                + "<code>mixbw</code> with a larger <code>flops_ratio</code>; <code>model_out_bitwidth_mode: int16</code> when an output's "
                + "own layer is the noisiest; <code>percentage: 1.0</code> for detection models, whose rare large values matter; "
                + "more and more typical calibration images.</p>");
        }
    }

    public static string Db(double value) => Db(value, 2);

    /// <summary>
    /// Formats an SNR and the threshold it is compared with, with 2 decimals or, when they
    /// differ but round alike, with up to 6. For example, 19.996 against 20 prints as
    /// "19.996 dB" and "20.000 dB", not "20.00 dB" for both.
    /// </summary>
    public static (string Value, string Threshold) DbAgainst(double valueDb, double thresholdDb)
    {
        const int MaxDecimals = 6;
        int decimals = 2;
        if (double.IsFinite(valueDb) && double.IsFinite(thresholdDb) && valueDb != thresholdDb)
        {
            while (decimals < MaxDecimals && Db(valueDb, decimals) == Db(thresholdDb, decimals))
            {
                decimals++;
            }
        }

        return (Db(valueDb, decimals), Db(thresholdDb, decimals));
    }

    private static string Db(double value, int decimals) =>
        double.IsPositiveInfinity(value) ? "+∞ dB"
        : double.IsNegativeInfinity(value) ? "−∞ dB"
        // Adding 0.0 turns a rounded -0 into 0, so "-0.00" is never printed.
        : (Math.Round(value, decimals) + 0.0).ToString("0." + new string('0', decimals), CultureInfo.InvariantCulture) + " dB";

    internal static void Row(StringBuilder html, string name, string value) =>
        html.AppendLine($"<tr><th>{Encode(name)}</th><td>{Encode(value)}</td></tr>");

    internal static string Encode(string text) => WebUtility.HtmlEncode(text);
}
