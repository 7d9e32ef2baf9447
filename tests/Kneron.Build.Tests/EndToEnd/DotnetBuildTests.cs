using System.Text.RegularExpressions;

namespace Kneron.Build.Tests.EndToEnd;

/// <summary>
/// Runs the real `dotnet build` on generated projects against the packed
/// Kneron.Build packages and the real kneron-quant. Each test costs seconds,
/// so these cover the build contract and the task's logic is unit-tested.
/// </summary>
[Collection(DotnetBuildCollection.Name)]
public sealed class DotnetBuildTests
{
    // BlazeFace front reaches about 13 dB at int8 on two face images.
    private const string FaceConfig = """
        platform: 720
        snr_threshold: 10
        calibration:
          images: images/*
          mean: [127.5]
          std: [127.5]

        """;

    private static readonly string[] FaceImages = { "astronaut.png", "grace_hopper.jpg" };

    private readonly BuildEnvironment _environment;

    public DotnetBuildTests(BuildEnvironment environment)
    {
        _environment = environment;
        _environment.RequireInputs();
    }

    [Fact]
    public void PackageReferenceProducesArtifacts()
    {
        // Spaces, '@', '%', ';' and non-ASCII letters in the paths must survive
        // MSBuild, the command line and the .deps file. NuGet restore rejects a
        // project folder with ';', so only the model's folder has one.
        var project = new TestProject(_environment, "Face App @ Zürich");
        project.AddModel("models/v2 50%;b/face.onnx", FaceConfig, FaceImages);
        project.WriteProjectFile();

        var result = project.Build();

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var artifact in new[] { "face.quant.onnx", "face.quant.json", "face.report.html" })
        {
            Assert.True(File.Exists(Path.Combine(project.OutputFolder, "models", "v2 50%;b", artifact)), $"{artifact} is not in the output folder.\n{result}");
        }

        Assert.Contains(SummaryLines(result), line => line.Contains("face.quant.onnx"));
    }

    [Fact]
    public void LowSnrFailsAtThresholdKey()
    {
        var project = new TestProject(_environment, "low-snr");
        project.AddModel("models/face.onnx", FaceConfig.Replace("snr_threshold: 10", "snr_threshold: 200"), FaceImages);
        project.WriteProjectFile();

        var result = project.Build();

        Assert.True(result.ExitCode != 0, result.ToString());
        var error = Regex.Match(result.Output, @"face\.quant\.yaml\((?<line>\d+),(?<column>\d+)\): error KNQ\d{4}: .*snr_threshold");
        Assert.True(error.Success, $"No error at face.quant.yaml(line,col).\n{result}");
        Assert.Equal("2", error.Groups["line"].Value);

        var leftArtifacts = Directory.EnumerateFiles(project.Folder, "face.*", SearchOption.AllDirectories)
            .Where(file => file.EndsWith(".quant.onnx") || file.EndsWith(".quant.json") || file.EndsWith(".report.html"))
            .ToList();
        Assert.True(leftArtifacts.Count == 0, "Artifacts left after a failed analysis: " + string.Join(", ", leftArtifacts));
    }

    [Fact]
    public void RebuildAnalysesOnlyChangedModel()
    {
        var project = new TestProject(_environment, "two-models");
        project.AddModel("models/front/face.onnx", FaceConfig, FaceImages);
        project.AddModel("models/second/face.onnx", FaceConfig, FaceImages);
        project.WriteProjectFile();
        var front = Path.Combine(project.Folder, "models", "front", "face.onnx");
        var second = Path.Combine(project.Folder, "models", "second", "face.onnx");

        var first = project.Build();
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(new[] { front, second }, first.AnalysedModels.Order());
        Assert.True(File.Exists(Path.Combine(project.OutputFolder, "models", "front", "face.quant.onnx")), first.ToString());
        Assert.True(File.Exists(Path.Combine(project.OutputFolder, "models", "second", "face.quant.onnx")), first.ToString());

        var unchanged = project.Build();
        Assert.True(unchanged.ExitCode == 0, unchanged.ToString());
        Assert.Empty(unchanged.AnalysedModels);

        File.SetLastWriteTimeUtc(Path.Combine(project.Folder, "models", "front", "images", "astronaut.png"), DateTime.UtcNow);
        var imageTouched = project.Build();
        Assert.True(imageTouched.ExitCode == 0, imageTouched.ToString());
        Assert.Equal(new[] { front }, imageTouched.AnalysedModels);

        var secondConfig = project.ConfigPath("models/second/face.onnx");
        File.WriteAllText(secondConfig, File.ReadAllText(secondConfig).Replace("snr_threshold: 10", "snr_threshold: 9"));
        var configEdited = project.Build();
        Assert.True(configEdited.ExitCode == 0, configEdited.ToString());
        Assert.Equal(new[] { second }, configEdited.AnalysedModels);
    }

    [Fact]
    public void SdkProjectProducesArtifacts()
    {
        var project = new TestProject(_environment, "sdk-style");
        project.AddModel("models/face.onnx", FaceConfig, FaceImages);
        project.WriteProjectFile(useSdk: true);

        var result = project.Build();

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(File.Exists(Path.Combine(project.OutputFolder, "models", "face.quant.onnx")), result.ToString());
        Assert.Single(result.AnalysedModels);
    }

    [Fact]
    public void UnknownConfigKeyFailsAtKey()
    {
        var project = new TestProject(_environment, "unknown-key");
        project.AddModel("models/face.onnx", FaceConfig.Replace("snr_threshold: 10\n", "snr_threshold: 10\nsnr_treshold: 10\n"), FaceImages);
        project.WriteProjectFile();

        var result = project.Build();

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Matches(@"face\.quant\.yaml\(3,1\): error KNQ01\d\d: ", result.Output);
    }

    private static IEnumerable<string> SummaryLines(BuildResult result) =>
        result.Output.Split('\n').Where(line => line.Contains("face.onnx:") && line.Contains("SNR"));
}
