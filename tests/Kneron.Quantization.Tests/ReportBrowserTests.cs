using System.Diagnostics;
using Kneron.Quantization.Analysis;
using Kneron.Quantization.Artifacts;
using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;

namespace Kneron.Quantization.Tests;

/// <summary>
/// Renders BlazeFace reports in headless Chromium and checks the rendered
/// DOM: the summary, the SNR–FPS chart, the sensitivity chart when there is
/// sensitivity data, and the layer table. Set REPORT_SCREENSHOT to a PNG path
/// to also save a screenshot of the report (used for docs/report-blazeface.png).
/// </summary>
public sealed class ReportBrowserTests
{
    [Fact]
    public void BlazeFaceReportRendersInChromium()
    {
        using var folder = new TestFolder();
        var result = AnalyzeBlazeFace();
        var path = folder.WriteText("blazeface_front.report.html", ReportWriter.Render(result, Cli.KneronQuantCommand.ToolVersion, failed: false));

        var dom = Chromium.DumpDom(path);

        Assert.Contains("id=\"summary\"", dom);
        Assert.Contains("FPS (estimate)", dom);
        Assert.Contains("KL720", dom);
        Assert.Contains("<svg id=\"snr-fps-chart\"", dom);
        Assert.Contains("class=\"mode chosen\"", dom);
        Assert.Contains("estimated FPS", dom);
        Assert.DoesNotContain("id=\"sensitivity-chart\"", dom);
        Assert.Contains("<table id=\"layer-table\"", dom);
        Assert.Equal(result.Layers.Count + 1, CountOccurrences(dom[dom.IndexOf("id=\"layer-table\"", StringComparison.Ordinal)..], "<tr"));

        if (Environment.GetEnvironmentVariable("REPORT_SCREENSHOT") is { Length: > 0 } screenshot)
        {
            Chromium.Screenshot(path, screenshot, width: 1200, height: 2000);
        }
    }

    [Fact]
    public void SensitivityChartRendersWithData()
    {
        using var folder = new TestFolder();
        var analysed = AnalyzeBlazeFace();
        var convs = analysed.Layers.Where(l => l.OpType == "Conv").Take(6).ToList();
        var sensitivity = convs.Select((l, i) => new SensitivityEntry(l.Node, "datapath", 1000, 30 - 3 * i, i < 2))
            .Concat(convs.Select((l, i) => new SensitivityEntry(l.Node, "weight", 1000, 40 - 2 * i, false)))
            .ToList();
        var result = WithSensitivity(analysed, sensitivity);
        var path = folder.WriteText("sensitivity.report.html", ReportWriter.Render(result, Cli.KneronQuantCommand.ToolVersion, failed: false));

        var dom = Chromium.DumpDom(path);

        Assert.Contains("<svg id=\"sensitivity-chart\"", dom);
        Assert.Equal(sensitivity.Count, CountOccurrences(dom, "class=\"sensitivity\""));
        Assert.Contains("predicted model SNR (dB)", dom);
        Assert.Contains("<svg id=\"snr-fps-chart\"", dom);
    }

    private static AnalysisResult AnalyzeBlazeFace()
    {
        var config = ConfigLoader.Load(TestModels.ConfigPath("blazeface_front"), new[] { "on_low_snr=warning" });
        return new Analyzer(new DiagnosticBag()).Analyze(TestModels.ModelPath("blazeface_front"), config);
    }

    private static AnalysisResult WithSensitivity(AnalysisResult result, IReadOnlyList<SensitivityEntry> sensitivity) => new()
    {
        ModelPath = result.ModelPath,
        ModelSha256 = result.ModelSha256,
        Config = result.Config,
        Mode = result.Mode,
        Bits = result.Bits,
        ConvCosts = result.ConvCosts,
        Outputs = result.Outputs,
        Table = result.Table,
        Layers = result.Layers,
        CpuNodes = result.CpuNodes,
        Calibration = result.Calibration,
        Evaluation = result.Evaluation,
        QuantizedModel = result.QuantizedModel,
        Elapsed = result.Elapsed,
        FpsEstimate = result.FpsEstimate,
        ModesTried = result.ModesTried,
        Sensitivity = sensitivity,
    };

    private static int CountOccurrences(string text, string value)
    {
        int count = 0;
        for (int index = text.IndexOf(value, StringComparison.Ordinal); index >= 0; index = text.IndexOf(value, index + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}

/// <summary>Runs headless Chromium (Debian package <c>chromium</c>) with networking features off and a fresh profile.</summary>
internal static class Chromium
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static string DumpDom(string htmlPath) => Run(htmlPath, "--dump-dom");

    public static void Screenshot(string htmlPath, string pngPath, int width, int height)
    {
        Run(htmlPath, $"--screenshot={Path.GetFullPath(pngPath)}", $"--window-size={width},{height}", "--hide-scrollbars");
        Assert.True(File.Exists(pngPath), $"Chromium did not write the screenshot '{pngPath}'.");
    }

    private static string Run(string htmlPath, params string[] extraArguments)
    {
        var executable = new[] { "chromium", "chromium-browser" }
            .Select(name => Environment.GetEnvironmentVariable("PATH")!.Split(Path.PathSeparator).Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists))
            .FirstOrDefault(path => path is not null);
        Assert.True(executable is not null, "Chromium was not found on PATH. Install it (Debian: apt-get update && apt-get install -y chromium) to run the report browser tests.");

        using var profile = new TestFolder();
        var start = new ProcessStartInfo(executable!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", $"--user-data-dir={profile.Path}",
        }.Concat(extraArguments).Append(new Uri(Path.GetFullPath(htmlPath)).AbsoluteUri))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"Chromium did not finish rendering '{htmlPath}' within {Timeout.TotalSeconds} s.");
        }

        Assert.True(process.ExitCode == 0, $"Chromium exited with code {process.ExitCode} on '{htmlPath}': {error.Result}");
        return output.Result;
    }
}
