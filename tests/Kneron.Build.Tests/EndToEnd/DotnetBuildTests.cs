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

        var copy = Path.Combine(project.OutputFolder, "models", "v2 50%;b", "face.quant.onnx");
        Assert.Contains(SummaryLines(result), line => line.Contains("models/v2 50%;b/face.onnx: ") && line.Contains(copy));
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
    public void ExternalDataIsInputAndOutput()
    {
        var project = new TestProject(_environment, "external-data");
        project.AddModel("models/face.onnx", FaceConfig, FaceImages);
        project.WriteProjectFile();
        var model = Path.Combine(project.Folder, "models", "face.onnx");
        var weights = Path.Combine(project.Folder, "models", "face.weights");
        MoveInitializersToFile(model, weights);

        var first = project.Build();
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(new[] { model }, first.AnalysedModels);
        var analysisData = Path.Combine(project.IntermediateFolder, "models", "face", "face.quant.onnx.data");
        var copiedData = Path.Combine(project.OutputFolder, "models", "face.quant.onnx.data");
        Assert.True(File.Exists(analysisData), first.ToString());
        Assert.True(File.Exists(copiedData), first.ToString());
        var fileWrites = File.ReadAllLines(Directory.EnumerateFiles(Path.Combine(project.Folder, "obj", "Debug", "net10.0"), "*.FileListAbsolute.txt").Single());
        Assert.Contains(analysisData, fileWrites);
        Assert.Contains(copiedData, fileWrites);

        var unchanged = project.Build();
        Assert.True(unchanged.ExitCode == 0, unchanged.ToString());
        Assert.Empty(unchanged.AnalysedModels);

        File.SetLastWriteTimeUtc(weights, DateTime.UtcNow);
        var weightsTouched = project.Build();
        Assert.True(weightsTouched.ExitCode == 0, weightsTouched.ToString());
        Assert.Equal(new[] { model }, weightsTouched.AnalysedModels);
        Assert.True(File.Exists(copiedData), weightsTouched.ToString());
    }

    /// <summary>
    /// Rewrites the model with the bytes of every initializer of 1024 bytes or more in
    /// <paramref name="dataFile"/> (ONNX external data, located relative to the model).
    /// </summary>
    private static void MoveInitializersToFile(string modelPath, string dataFile)
    {
        var model = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
        using (var data = File.Create(dataFile))
        {
            foreach (var tensor in model.Graph.Initializer.Where(t => t.RawData.Length >= 1024))
            {
                var offset = data.Position;
                tensor.RawData.WriteTo(data);
                tensor.ExternalData.Add(new Onnx.StringStringEntryProto { Key = "location", Value = Path.GetFileName(dataFile) });
                tensor.ExternalData.Add(new Onnx.StringStringEntryProto { Key = "offset", Value = offset.ToString() });
                tensor.ExternalData.Add(new Onnx.StringStringEntryProto { Key = "length", Value = tensor.RawData.Length.ToString() });
                tensor.RawData = Google.Protobuf.ByteString.Empty;
                tensor.DataLocation = Onnx.TensorProto.Types.DataLocation.External;
            }

            Assert.True(data.Length > 0, $"{modelPath} has no initializer of 1024 bytes or more in raw_data.");
        }

        File.WriteAllBytes(modelPath, Google.Protobuf.MessageExtensions.ToByteArray(model));
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

    [Fact]
    public void ModelOutsideProjectGoesToOutputFolder()
    {
        var project = new TestProject(_environment, "outside-model");
        project.AddModel("../outside-model-shared/face.onnx", FaceConfig, FaceImages);
        project.WriteProjectFile();

        var result = project.Build();

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var artifact in new[] { "face.quant.onnx", "face.quant.json", "face.report.html" })
        {
            Assert.True(File.Exists(Path.Combine(project.OutputFolder, artifact)), $"{artifact} is not in the output folder itself.\n{result}");
        }
    }

    [Fact]
    public void SameLinkFailsBeforeAnalysis()
    {
        var project = new TestProject(_environment, "same-link");
        project.AddModel("models/a/face.onnx", FaceConfig, FaceImages);
        project.AddModel("models/b/face.onnx", FaceConfig, FaceImages);
        project.SetMetadata("models/a/face.onnx", "Link", "models/face.onnx");
        project.SetMetadata("models/b/face.onnx", "Link", "models/face.onnx");
        project.WriteProjectFile();

        var result = project.Build();

        Assert.True(result.ExitCode != 0, result.ToString());
        var error = Regex.Match(result.Output, @"App\.csproj : error KNQ0706: (?<message>.*)");
        Assert.True(error.Success, $"No KNQ0706 at App.csproj.\n{result}");
        Assert.Contains("KneronModel 'models/a/face.onnx' and KneronModel 'models/b/face.onnx'", error.Groups["message"].Value);
        Assert.Contains("OutputName or Link", error.Groups["message"].Value);
        Assert.Empty(result.AnalysedModels);
    }

    [Fact]
    public void SameOutputNameFailsBeforeAnalysis()
    {
        var project = new TestProject(_environment, "same-output-name");
        project.AddModel("models/face.onnx", FaceConfig, FaceImages);
        project.AddModel("models/face-copy.onnx", FaceConfig);
        project.SetMetadata("models/face-copy.onnx", "OutputName", "face");
        project.WriteProjectFile();

        var result = project.Build();

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Matches(@"error KNQ0706: KneronModel 'models/face\.onnx' and KneronModel 'models/face-copy\.onnx'", result.Output);
        Assert.Empty(result.AnalysedModels);
    }

    [Fact]
    public void LowSnrWarningRepeatsOnNoOpBuild()
    {
        var project = new TestProject(_environment, "low-snr-warning");
        project.AddModel("models/face.onnx", FaceConfig.Replace("snr_threshold: 10", "snr_threshold: 200\non_low_snr: warning"), FaceImages);
        project.WriteProjectFile();
        var warningPattern = @"face\.quant\.yaml\(2,16\): warning KNQ0403: SNR of output";

        var first = project.Build();
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Single(first.AnalysedModels);
        var firstWarnings = Regex.Matches(first.Output, warningPattern + ".*").Select(m => m.Value).Distinct().ToList();
        Assert.True(firstWarnings.Count > 0, $"No KNQ0403 warning in the first build.\n{first}");

        var noOp = project.Build();
        Assert.True(noOp.ExitCode == 0, noOp.ToString());
        Assert.Empty(noOp.AnalysedModels);
        var repeated = Regex.Matches(noOp.Output, warningPattern + ".*").Select(m => m.Value).Distinct().ToList();
        Assert.Equal(firstWarnings, repeated);
    }

    [Fact]
    public void MissingConfigFailsWithCode()
    {
        var project = new TestProject(_environment, "missing-config");
        project.AddModel("models/face.onnx", FaceConfig, FaceImages);
        File.Delete(project.ConfigPath("models/face.onnx"));
        project.WriteProjectFile();

        var result = project.Build();

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Matches(@"App\.csproj : error KNQ0705: KneronModel 'models/face\.onnx': the config '.*face\.quant\.yaml' was not found\. Create face\.quant\.yaml beside the model", result.Output);
        Assert.DoesNotContain("pass its path with --config", result.Output);
        Assert.Empty(result.AnalysedModels);
    }

    [Fact]
    public void MissingModelFailsBeforeConfig()
    {
        var project = new TestProject(_environment, "missing-model");
        project.ReferenceModel("models/nothere.onnx");
        project.WriteProjectFile();

        var result = project.Build();

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Matches(@"App\.csproj : error KNQ0201: KneronModel 'models/nothere\.onnx': the model file '.*nothere\.onnx' was not found\.", result.Output);
        Assert.DoesNotContain("KNQ0705", result.Output);
    }

    [Fact]
    public void MissingDeclaredConfigNamesIt()
    {
        var project = new TestProject(_environment, "missing-declared-config");
        project.AddModel("models/a.onnx", FaceConfig, FaceImages);
        project.SetMetadata("models/a.onnx", "Config", "models/nope.yaml");
        project.WriteProjectFile();

        var result = project.Build();

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Matches(@"error KNQ0705: KneronModel 'models/a\.onnx': the config '.*nope\.yaml' \(Config=""models/nope\.yaml""\) was not found\. Create nope\.yaml there", result.Output);
        Assert.Empty(result.AnalysedModels);
    }

    [Fact]
    public void MisspelledMetadataWarns()
    {
        // The item declared twice stops the build with KNQ0706 before any analysis, after the warning.
        var project = new TestProject(_environment, "misspelled-metadata");
        project.AddModel("models/face.onnx", FaceConfig, FaceImages);
        project.ReferenceModel("models/face.onnx");
        project.SetMetadata("models/face.onnx", "Platfrom", "730");
        project.WriteProjectFile();

        var result = project.Build();

        Assert.Matches(@"App\.csproj : warning KNQ0708: KneronModel 'models/face\.onnx' has metadata 'Platfrom'.*did you mean 'Platform'\?", result.Output);
        Assert.Empty(result.AnalysedModels);
    }

    [Fact]
    public void ModeRuleErrorFromMetadataAtProject()
    {
        var project = new TestProject(_environment, "mode-rule-metadata");
        project.AddModel("models/a.onnx", FaceConfig.Replace("platform: 720", "platform: 720\ndatapath_bitwidth_mode: int8"), FaceImages);
        project.SetMetadata("models/a.onnx", "WeightBitwidthMode", "mixbw");
        project.WriteProjectFile();

        var result = project.Build();

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Matches(@"App\.csproj : error KNQ0503: KneronModel 'models/a\.onnx' metadata WeightBitwidthMode=mixbw: weight_bitwidth_mode 'mixbw' needs datapath_bitwidth_mode", result.Output);
        Assert.DoesNotContain("a.quant.yaml(", result.Output);
    }

    [Fact]
    public void UnknownCopyValueFailsWithCode()
    {
        var project = new TestProject(_environment, "copy-sometimes");
        project.AddModel("models/face.onnx", FaceConfig, FaceImages);
        project.SetMetadata("models/face.onnx", "CopyToOutputDirectory", "Sometimes");
        project.WriteProjectFile();

        var result = project.Build();

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Matches(@"error KNQ0707: KneronModel 'models/face\.onnx' has CopyToOutputDirectory 'Sometimes'.*PreserveNewest, Always and Never", result.Output);
        Assert.Empty(result.AnalysedModels);
    }

    [Fact]
    public void OverrideErrorNamesItemAndMetadata()
    {
        var project = new TestProject(_environment, "override-error");
        project.AddModel("models/face.onnx", FaceConfig, FaceImages);
        project.SetMetadata("models/face.onnx", "Platform", "520");
        project.SetMetadata("models/face.onnx", "DatapathBitwidthMode", "int16");
        project.WriteProjectFile();

        var result = project.Build();

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Matches(@"App\.csproj : error KNQ0502: KneronModel 'models/face\.onnx' metadata DatapathBitwidthMode=int16: datapath_bitwidth_mode", result.Output);
    }

    [Fact]
    public void SampleBuildsOutsideRepository()
    {
        var sample = Path.Combine(_environment.RepositoryRoot, "samples", "FaceDetection");
        var project = TestProject.CopyOf(_environment, sample, "sample-copy", "FaceDetection.csproj");
        var models = Path.Combine(project.Folder, "models");
        var images = Path.Combine(models, "images");
        if (Directory.Exists(images))
        {
            Directory.Delete(images, recursive: true);
        }

        Directory.CreateDirectory(images);
        File.Copy(_environment.BlazeFaceModel, Path.Combine(models, "face.onnx"), overwrite: true);
        foreach (var image in FaceImages)
        {
            File.Copy(Path.Combine(_environment.ImagesFolder, image), Path.Combine(images, image));
        }

        // Files a user's image folder often holds; the sample's patterns must skip them.
        File.WriteAllText(Path.Combine(images, "notes.txt"), "where the portraits come from\n");
        File.WriteAllBytes(Path.Combine(images, ".DS_Store"), new byte[] { 0, 0, 0, 1, 66, 117, 100, 49 });

        var result = project.Build();

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(File.Exists(Path.Combine(project.OutputFolder, "models", "face.quant.onnx")), result.ToString());
    }

    private static IEnumerable<string> SummaryLines(BuildResult result) =>
        result.Output.Split('\n').Where(line => line.Contains("face.onnx:") && line.Contains("SNR"));
}
