namespace Kneron.Quantization.Tests;

/// <summary>Bad inputs to <c>kneron-quant analyze</c>: each a coded error with a location, exit code 2, and no artifact.</summary>
public sealed class CliErrorTests
{
    private const string Config = """
        platform: 720
        calibration:
          images: "calib/*.png"
          mean: [127.5, 127.5, 127.5]
          std: [127.5, 127.5, 127.5]
        """;

    private static TestFolder FolderWithConfig(string modelName, string config = Config)
    {
        var folder = new TestFolder();
        folder.WriteText(modelName + ".quant.yaml", config);
        File.Copy(Path.Combine(TestFolder.DataFolder(), "images", "astronaut.png"), folder.Combine("calib/astronaut.png").Also(p => Directory.CreateDirectory(Path.GetDirectoryName(p)!)));
        return folder;
    }

    private static void AssertNoArtifacts(string output)
    {
        Assert.True(!Directory.Exists(output) || Directory.GetFiles(output).Length == 0,
            "artifacts were written: " + (Directory.Exists(output) ? string.Join(", ", Directory.GetFiles(output)) : ""));
    }

    [Fact]
    public void MissingModel()
    {
        using var folder = FolderWithConfig("face");
        var result = CliResult.Run("analyze", folder.Combine("face.onnx"), "--output", folder.Combine("out"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{folder.Combine("face.onnx")}: error KNQ0201:", result.Error);
        AssertNoArtifacts(folder.Combine("out"));
    }

    [Theory]
    [InlineData("text", "KNQ0202")]
    [InlineData("truncated", "KNQ0202")]
    [InlineData("empty-graph", "KNQ0203")]
    public void BrokenModel(string kind, string code)
    {
        using var folder = FolderWithConfig("face");
        var modelPath = folder.Combine("face.onnx");
        switch (kind)
        {
            case "text":
                File.WriteAllText(modelPath, "this is not a model\n");
                break;
            case "truncated":
                var bytes = File.ReadAllBytes(TestModels.ModelPath("blazeface_front"));
                File.WriteAllBytes(modelPath, bytes[..(bytes.Length / 3)]);
                break;
            default:
                new OnnxBuilder().Input("x", 1, 3, 8, 8).Output("x").Save(modelPath);
                break;
        }

        var before = File.ReadAllBytes(modelPath);
        var result = CliResult.Run("analyze", modelPath, "--output", folder.Combine("out"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{modelPath}: error {code}:", result.Error);
        Assert.Equal(before, File.ReadAllBytes(modelPath));
        AssertNoArtifacts(folder.Combine("out"));
    }

    [Fact]
    public void DynamicShapeWithoutConfigShape()
    {
        using var folder = FolderWithConfig("det");
        File.Copy(TestModels.ModelPath("ppocr_det"), folder.Combine("det.onnx"));
        var result = CliResult.Run("analyze", folder.Combine("det.onnx"), "--output", folder.Combine("out"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{folder.Combine("det.quant.yaml")}(1,1): error KNQ0204:", result.Error);
        Assert.Contains("inputs:", result.Error);
        AssertNoArtifacts(folder.Combine("out"));
    }

    [Fact]
    public void UnknownKeyPointsAtLine()
    {
        using var folder = FolderWithConfig("face", "platform: 720\nsnr_treshold: 30\n" + Config.Split('\n', 2)[1]);
        File.Copy(TestModels.ModelPath("blazeface_front"), folder.Combine("face.onnx"));
        var result = CliResult.Run("analyze", folder.Combine("face.onnx"), "--output", folder.Combine("out"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{folder.Combine("face.quant.yaml")}(2,1): error KNQ0105:", result.Error);
        Assert.Contains("snr_threshold", result.Error);
        AssertNoArtifacts(folder.Combine("out"));
    }

    [Fact]
    public void PlatformRuleAtModeKey()
    {
        using var folder = FolderWithConfig("face", "platform: 520\ndatapath_bitwidth_mode: int16\n" + Config.Split('\n', 2)[1]);
        File.Copy(TestModels.ModelPath("blazeface_front"), folder.Combine("face.onnx"));
        var result = CliResult.Run("analyze", folder.Combine("face.onnx"), "--output", folder.Combine("out"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{folder.Combine("face.quant.yaml")}(2,25): error KNQ0502:", result.Error);
        Assert.Contains("KL520", result.Error);
    }

    [Fact]
    public void LowSnrFailsAtThresholdKey()
    {
        using var folder = FolderWithConfig("face", "platform: 720\nsnr_threshold: 200\n" + Config.Split('\n', 2)[1]);
        File.Copy(TestModels.ModelPath("blazeface_front"), folder.Combine("face.onnx"));
        var output = folder.Combine("out");
        var result = CliResult.Run("analyze", folder.Combine("face.onnx"), "--output", output);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"{folder.Combine("face.quant.yaml")}(2,16): error KNQ0403:", result.Error);
        Assert.True(File.Exists(Path.Combine(output, "face.failed.html")));
        Assert.False(File.Exists(Path.Combine(output, "face.quant.onnx")));
        Assert.False(File.Exists(Path.Combine(output, "face.quant.json")));
        Assert.False(File.Exists(Path.Combine(output, "face.report.html")));
    }

    [Fact]
    public void FailedRunRemovesEarlierResults()
    {
        using var folder = FolderWithConfig("face");
        File.Copy(TestModels.ModelPath("blazeface_front"), folder.Combine("face.onnx"));
        var output = folder.Combine("out");
        var first = CliResult.Run("analyze", folder.Combine("face.onnx"), "--output", output, "--set", "snr_threshold=0");
        Assert.Equal(0, first.ExitCode);
        Assert.True(File.Exists(Path.Combine(output, "face.quant.onnx")));

        var second = CliResult.Run("analyze", folder.Combine("face.onnx"), "--output", output, "--set", "platform=999");

        Assert.Equal(2, second.ExitCode);
        Assert.False(File.Exists(Path.Combine(output, "face.quant.onnx")));
        Assert.False(File.Exists(Path.Combine(output, "face.quant.json")));
    }

    [Fact]
    public void UnknownOptionIsExitTwo()
    {
        var result = CliResult.Run("analyze", "model.onnx", "--bogus");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("error KNQ0001:", result.Error);
    }
}

internal static class ObjectExtensions
{
    public static T Also<T>(this T value, Action<T> action)
    {
        action(value);
        return value;
    }
}
