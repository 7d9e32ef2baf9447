namespace Kneron.Quantization.Tests;

/// <summary>
/// The results cache: an analysis with identical inputs is replayed from the
/// cache with the same artifacts, exit code and diagnostics; a change to any
/// input misses.
/// </summary>
public sealed class ResultsCacheTests
{
    private static (TestFolder Folder, string Model, string Config) Project(string threshold)
    {
        var folder = new TestFolder();
        var model = folder.Combine("face.onnx");
        File.Copy(TestModels.ModelPath("blazeface_front"), model);
        Directory.CreateDirectory(folder.Combine("calib"));
        foreach (var image in new[] { "astronaut.png", "grace_hopper.jpg" })
        {
            File.Copy(Path.Combine(TestFolder.DataFolder(), "images", image), folder.Combine("calib/" + image));
        }

        var config = folder.WriteText("face.quant.yaml", $"platform: 720\nsnr_threshold: {threshold}\ncalibration:\n  images: \"calib/*\"\n  mean: [127.5, 127.5, 127.5]\n  std: [127.5, 127.5, 127.5]\n");
        return (folder, model, config);
    }

    [Fact]
    public void HitReplaysArtifactsAndSummary()
    {
        var (folder, model, _) = Project("0");
        using var _folder = folder;
        var cache = folder.Combine("cache");

        var first = CliResult.Run("analyze", model, "--output", folder.Combine("a"), "--cache-dir", cache);
        var second = CliResult.Run("analyze", model, "--output", folder.Combine("b"), "--cache-dir", cache);

        Assert.Equal(0, first.ExitCode);
        Assert.Equal(0, second.ExitCode);
        Assert.DoesNotContain("Results cache hit", first.Output);
        Assert.Contains("Results cache hit", second.Output);
        Assert.Contains(folder.Combine("b") + "/face.quant.onnx", second.Output);
        foreach (var suffix in new[] { ".quant.onnx", ".quant.json", ".report.html" })
        {
            Assert.Equal(File.ReadAllBytes(folder.Combine("a/face" + suffix)), File.ReadAllBytes(folder.Combine("b/face" + suffix)));
        }

        Assert.True(File.Exists(folder.Combine("b/face.deps")));
    }

    [Fact]
    public void HitReplaysLowSnrError()
    {
        var (folder, model, config) = Project("200");
        using var _folder = folder;
        var cache = folder.Combine("cache");

        var first = CliResult.Run("analyze", model, "--output", folder.Combine("a"), "--cache-dir", cache);
        var second = CliResult.Run("analyze", model, "--output", folder.Combine("b"), "--cache-dir", cache);

        Assert.Equal(1, first.ExitCode);
        Assert.Equal(1, second.ExitCode);
        Assert.Contains("Results cache hit", second.Output);
        Assert.Contains($"{config}(2,16): error KNQ0403:", second.Error);
        Assert.Contains(folder.Combine("b") + "/face.failed.html", second.Error);
        Assert.True(File.Exists(folder.Combine("b/face.failed.html")));
        Assert.False(File.Exists(folder.Combine("b/face.quant.onnx")));
    }

    [Fact]
    public void ChangedInputMisses()
    {
        var (folder, model, config) = Project("0");
        using var _folder = folder;
        var cache = folder.Combine("cache");
        Assert.Equal(0, CliResult.Run("analyze", model, "--output", folder.Combine("a"), "--cache-dir", cache).ExitCode);

        // One more calibration image, a changed override, a changed config: each is a new key.
        File.Copy(Path.Combine(TestFolder.DataFolder(), "images", "coffee.png"), folder.Combine("calib/coffee.png"));
        var afterImage = CliResult.Run("analyze", model, "--output", folder.Combine("b"), "--cache-dir", cache);
        var afterOverride = CliResult.Run("analyze", model, "--output", folder.Combine("c"), "--cache-dir", cache, "--set", "percentage=0.99");
        File.AppendAllText(config, "# a comment changes the bytes\n");
        var afterConfig = CliResult.Run("analyze", model, "--output", folder.Combine("d"), "--cache-dir", cache);

        Assert.DoesNotContain("Results cache hit", afterImage.Output);
        Assert.DoesNotContain("Results cache hit", afterOverride.Output);
        Assert.DoesNotContain("Results cache hit", afterConfig.Output);
    }
}
