using System.Reflection;

namespace Kneron.Build.Tests.EndToEnd;

/// <summary>
/// What every end-to-end build shares: the freshly packed packages, the
/// BlazeFace model from the test-model cache, the repository's test images
/// and one NUGET_PACKAGES folder for the whole test run. The folder is new
/// for each run, because NuGet never extracts a package version again once
/// it is in the folder, and the packages are re-packed under the same version.
/// </summary>
public sealed class BuildEnvironment : IDisposable
{
    public const string PackCommand = "dotnet pack -c Release -o artifacts/packages";

    public BuildEnvironment()
    {
        var metadata = typeof(BuildEnvironment).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().ToDictionary(a => a.Key, a => a.Value);
        RepositoryRoot = Path.GetFullPath(metadata["RepositoryRoot"]!);
        PackageVersion = metadata["PackageVersion"]!;
        PackagesFolder = Path.Combine(RepositoryRoot, "artifacts", "packages");
        ImagesFolder = Path.Combine(RepositoryRoot, "tests", "data", "images");

        RunFolder = Path.Combine(Path.GetTempPath(), "kneron-build-tests", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss") + "-" + Guid.NewGuid().ToString("N")[..8]);
        NuGetPackagesFolder = Path.Combine(RunFolder, "nuget-packages");
        Directory.CreateDirectory(NuGetPackagesFolder);

        var cache = Environment.GetEnvironmentVariable("KNERON_MODEL_CACHE");
        if (string.IsNullOrEmpty(cache))
        {
            cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "kneron-build", "models");
        }

        BlazeFaceModel = Path.Combine(cache, "blazeface_front.onnx");
        PpOcrDetModel = Path.Combine(cache, "ppocr_det.onnx");
    }

    public string RepositoryRoot { get; }

    public string PackageVersion { get; }

    public string PackagesFolder { get; }

    public string ImagesFolder { get; }

    public string RunFolder { get; }

    public string NuGetPackagesFolder { get; }

    public string BlazeFaceModel { get; }

    /// <summary>PP-OCRv4 det, whose analysis takes seconds: long enough to interrupt.</summary>
    public string PpOcrDetModel { get; }

    /// <summary>
    /// Fails with the command to run when the packages or the model are
    /// missing, or when a source file of the packages is newer than them.
    /// </summary>
    public void RequireInputs()
    {
        foreach (var id in new[] { "Kneron.Build", "Kneron.Build.Sdk" })
        {
            var package = Path.Combine(PackagesFolder, $"{id}.{PackageVersion}.nupkg");
            Assert.True(File.Exists(package), $"{package} is missing. Run `{PackCommand}` in {RepositoryRoot} first.");
        }

        var packedAt = File.GetLastWriteTimeUtc(Path.Combine(PackagesFolder, $"Kneron.Build.{PackageVersion}.nupkg"));
        var newer = PackedSources().FirstOrDefault(file => File.GetLastWriteTimeUtc(file) > packedAt);
        Assert.True(newer == null, $"{newer} changed after the packages were packed. Run `{PackCommand}` in {RepositoryRoot} again.");

        Assert.True(File.Exists(BlazeFaceModel), $"{BlazeFaceModel} is missing. Run `scripts/fetch-test-models.sh` in {RepositoryRoot} first.");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(RunFolder, recursive: true);
        }
        catch (IOException)
        {
            // A build server that outlived its build may still hold a file open.
            // The folder is then left under the temp folder for the system to clean.
        }
    }

    private IEnumerable<string> PackedSources()
    {
        var folders = new[] { "build", "sdk", "src" }.Select(f => Path.Combine(RepositoryRoot, f));
        return folders
            .Where(Directory.Exists)
            .SelectMany(folder => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
            .Where(file => !IsBuildOutput(file))
            .Where(file => file.EndsWith(".cs") || file.EndsWith(".csproj") || file.EndsWith(".props") || file.EndsWith(".targets"));
    }

    private static bool IsBuildOutput(string file)
    {
        var separator = Path.DirectorySeparatorChar;
        return file.Contains($"{separator}bin{separator}") || file.Contains($"{separator}obj{separator}");
    }
}

/// <summary>End-to-end builds run one after another, in parallel with the unit tests.</summary>
[CollectionDefinition(Name)]
public sealed class DotnetBuildCollection : ICollectionFixture<BuildEnvironment>
{
    public const string Name = "dotnet build";
}
