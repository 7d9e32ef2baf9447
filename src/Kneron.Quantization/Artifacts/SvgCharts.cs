using System.Globalization;
using System.Net;
using System.Text;
using Kneron.Quantization.Analysis;

namespace Kneron.Quantization.Artifacts;

/// <summary>
/// Inline SVG charts for the HTML report: no scripts and no external files,
/// so the report renders offline in any browser.
/// </summary>
public static class SvgCharts
{
    private const int Width = 720;
    private const int PlotLeft = 70;
    private const int PlotRight = Width - 30;
    private const string ChosenColor = "#c2410c";
    private const string ModeColor = "#1d4ed8";

    /// <summary>
    /// Draws SNR (dB, vertical) against estimated FPS (horizontal) for every
    /// mode tried, with the SNR threshold as a dashed line and the chosen mode
    /// ringed and labelled. A mode with no noise (+∞ dB) sits on the top edge.
    /// </summary>
    public static string SnrFps(IReadOnlyList<ModeTrial> modes, double thresholdDb)
    {
        const int height = 360, plotTop = 30, plotBottom = height - 60;
        var finite = modes.Select(m => m.SnrDb).Where(double.IsFinite).Append(thresholdDb).ToList();
        var (yMin, yMax, yStep) = NiceRange(Math.Min(0, finite.Min()), finite.Max() + 5);
        var (xMin, xMax, xStep) = NiceRange(0, Math.Max(1, modes.Select(m => m.Fps).Where(double.IsFinite).DefaultIfEmpty(1).Max() * 1.15));

        double X(double fps) => PlotLeft + (Math.Min(fps, xMax) - xMin) / (xMax - xMin) * (PlotRight - PlotLeft);
        double Y(double snr) => plotBottom - (Math.Clamp(snr, yMin, yMax) - yMin) / (yMax - yMin) * (plotBottom - plotTop);

        var svg = Start("snr-fps-chart", height, "SNR against estimated FPS of each bit-width mode tried");
        Axes(svg, plotTop, plotBottom, xMin, xMax, xStep, X, yMin, yMax, yStep, Y, "estimated FPS", "SNR (dB)");

        double thresholdY = Y(thresholdDb);
        svg.AppendLine(F($"<line x1=\"{PlotLeft}\" y1=\"{thresholdY:0.#}\" x2=\"{PlotRight}\" y2=\"{thresholdY:0.#}\" stroke=\"#b91c1c\" stroke-dasharray=\"6 4\"/>"));
        svg.AppendLine(F($"<text x=\"{PlotRight - 4}\" y=\"{thresholdY - 6:0.#}\" text-anchor=\"end\" fill=\"#b91c1c\">threshold {thresholdDb:0.#} dB</text>"));

        foreach (var mode in modes.OrderBy(m => m.Chosen))
        {
            double x = X(mode.Fps), y = Y(double.IsPositiveInfinity(mode.SnrDb) ? yMax : mode.SnrDb);
            var label = Encode($"{mode.DatapathBitwidthMode} / {mode.WeightBitwidthMode}");
            var snrText = double.IsPositiveInfinity(mode.SnrDb) ? "+∞ dB" : F($"{mode.SnrDb:0.0} dB");
            svg.AppendLine(F($"<g class=\"mode{(mode.Chosen ? " chosen" : "")}\"><title>{label}: {snrText}, ~{mode.Fps:0} FPS</title>"));
            svg.AppendLine(F($"<circle cx=\"{x:0.#}\" cy=\"{y:0.#}\" r=\"6\" fill=\"{(mode.Chosen ? ChosenColor : ModeColor)}\"/>"));
            if (mode.Chosen)
            {
                svg.AppendLine(F($"<circle cx=\"{x:0.#}\" cy=\"{y:0.#}\" r=\"11\" fill=\"none\" stroke=\"{ChosenColor}\" stroke-width=\"2\"/>"));
            }

            bool leftSide = x > (PlotLeft + PlotRight) / 2.0;
            svg.AppendLine(F($"<text x=\"{x + (leftSide ? -16 : 16):0.#}\" y=\"{y + 4:0.#}\" text-anchor=\"{(leftSide ? "end" : "start")}\">{label}{(mode.Chosen ? " (chosen)" : "")}: {Encode(snrText)}, ~{mode.Fps:0} FPS</text>"));
            svg.AppendLine("</g>");
        }

        return End(svg);
    }

    /// <summary>
    /// Draws one horizontal bar per (Conv node, kind) with its predicted model
    /// SNR in dB, most sensitive (lowest SNR) first, data and weight points in
    /// two colours.
    /// </summary>
    public static string Sensitivity(IReadOnlyList<SensitivityEntry> points)
    {
        const int rowHeight = 18, plotTop = 40, left = 250;
        var ordered = points.OrderBy(p => p.SnrDb).ToList();
        int plotBottom = plotTop + ordered.Count * rowHeight;
        int height = plotBottom + 50;
        var finite = ordered.Select(p => p.SnrDb).Where(double.IsFinite).DefaultIfEmpty(0).ToList();
        var (xMin, xMax, xStep) = NiceRange(Math.Min(0, finite.Min()), finite.Max() + 1);
        double X(double snr) => left + (Math.Clamp(snr, xMin, xMax) - xMin) / (xMax - xMin) * (PlotRight - left);

        var svg = Start("sensitivity-chart", height, "Predicted model SNR with one Conv node at 8 bits, lowest (most sensitive) first");
        svg.AppendLine(F($"<rect x=\"{left}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{ModeColor}\"/><text x=\"{left + 18}\" y=\"18\">data (datapath) at 8 bits</text>"));
        svg.AppendLine(F($"<rect x=\"{left + 200}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{ChosenColor}\"/><text x=\"{left + 218}\" y=\"18\">weight at 8 bits</text>"));
        for (double tick = xMin; tick <= xMax + xStep / 2; tick += xStep)
        {
            svg.AppendLine(F($"<line x1=\"{X(tick):0.#}\" y1=\"{plotTop}\" x2=\"{X(tick):0.#}\" y2=\"{plotBottom}\" stroke=\"#e5e7eb\"/>"));
            svg.AppendLine(F($"<text x=\"{X(tick):0.#}\" y=\"{plotBottom + 16}\" text-anchor=\"middle\">{tick:0.##}</text>"));
        }

        for (int i = 0; i < ordered.Count; i++)
        {
            var point = ordered[i];
            double y = plotTop + i * rowHeight;
            var color = point.Kind == "datapath" ? ModeColor : ChosenColor;
            var kind = point.Kind == "datapath" ? "data" : "weight";
            svg.AppendLine(F($"<g class=\"sensitivity\"><title>{Encode(point.Node)} ({kind}): {point.SnrDb:0.00} dB</title>"));
            svg.AppendLine(F($"<text x=\"{left - 8}\" y=\"{y + 13:0.#}\" text-anchor=\"end\">{Encode(Shorten(point.Node, 34))} ({kind})</text>"));
            svg.AppendLine(F($"<rect x=\"{left}\" y=\"{y + 3:0.#}\" width=\"{Math.Max(1, X(point.SnrDb) - left):0.#}\" height=\"{rowHeight - 6}\" fill=\"{color}\"/>"));
            svg.AppendLine(F($"<text x=\"{X(point.SnrDb) + 4:0.#}\" y=\"{y + 13:0.#}\">{point.SnrDb:0.0}</text></g>"));
        }

        svg.AppendLine(F($"<line x1=\"{left}\" y1=\"{plotBottom}\" x2=\"{PlotRight}\" y2=\"{plotBottom}\" stroke=\"#374151\"/>"));
        svg.AppendLine(F($"<text x=\"{(left + PlotRight) / 2}\" y=\"{plotBottom + 38}\" text-anchor=\"middle\" class=\"axis-label\">predicted model SNR (dB)</text>"));
        return End(svg);
    }

    private static StringBuilder Start(string id, int height, string title)
    {
        var svg = new StringBuilder();
        svg.AppendLine(F($"<svg id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {Width} {height}\" width=\"{Width}\" height=\"{height}\" role=\"img\" font-family=\"system-ui, sans-serif\" font-size=\"12\">"));
        svg.AppendLine($"<title>{Encode(title)}</title>");
        return svg;
    }

    private static string End(StringBuilder svg) => svg.AppendLine("</svg>").ToString();

    private static void Axes(StringBuilder svg, int plotTop, int plotBottom,
        double xMin, double xMax, double xStep, Func<double, double> x,
        double yMin, double yMax, double yStep, Func<double, double> y, string xLabel, string yLabel)
    {
        for (double tick = yMin; tick <= yMax + yStep / 2; tick += yStep)
        {
            svg.AppendLine(F($"<line x1=\"{PlotLeft}\" y1=\"{y(tick):0.#}\" x2=\"{PlotRight}\" y2=\"{y(tick):0.#}\" stroke=\"#e5e7eb\"/>"));
            svg.AppendLine(F($"<text x=\"{PlotLeft - 8}\" y=\"{y(tick) + 4:0.#}\" text-anchor=\"end\">{tick:0.##}</text>"));
        }

        for (double tick = xMin; tick <= xMax + xStep / 2; tick += xStep)
        {
            svg.AppendLine(F($"<line x1=\"{x(tick):0.#}\" y1=\"{plotTop}\" x2=\"{x(tick):0.#}\" y2=\"{plotBottom}\" stroke=\"#e5e7eb\"/>"));
            svg.AppendLine(F($"<text x=\"{x(tick):0.#}\" y=\"{plotBottom + 16}\" text-anchor=\"middle\">{tick:0.##}</text>"));
        }

        svg.AppendLine(F($"<line x1=\"{PlotLeft}\" y1=\"{plotBottom}\" x2=\"{PlotRight}\" y2=\"{plotBottom}\" stroke=\"#374151\"/>"));
        svg.AppendLine(F($"<line x1=\"{PlotLeft}\" y1=\"{plotTop}\" x2=\"{PlotLeft}\" y2=\"{plotBottom}\" stroke=\"#374151\"/>"));
        svg.AppendLine(F($"<text x=\"{(PlotLeft + PlotRight) / 2}\" y=\"{plotBottom + 40}\" text-anchor=\"middle\" class=\"axis-label\">{xLabel}</text>"));
        svg.AppendLine(F($"<text x=\"18\" y=\"{(plotTop + plotBottom) / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {(plotTop + plotBottom) / 2})\" class=\"axis-label\">{yLabel}</text>"));
    }

    /// <summary>Widens [low, high] to multiples of a 1, 2 or 5 × 10ⁿ step giving about five ticks.</summary>
    private static (double Low, double High, double Step) NiceRange(double low, double high)
    {
        if (!(high > low))
        {
            high = low + 1;
        }

        double raw = (high - low) / 5;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * magnitude).First(s => s >= raw);
        return (Math.Floor(low / step) * step, Math.Ceiling(high / step) * step, step);
    }

    private static string Shorten(string text, int maxLength) =>
        text.Length <= maxLength ? text : string.Concat(text.AsSpan(0, maxLength - 1), "…");

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
