using Kneron.Build.Tasks;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Kneron.Build.Tests;

public sealed class KneronCheckModelsTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "kneron-check-tests", Guid.NewGuid().ToString("N"));

    public KneronCheckModelsTests()
    {
        Directory.CreateDirectory(_folder);
    }

    public void Dispose()
    {
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void DistinctModelsPass()
    {
        var engine = Run(Model("models/face.onnx", "models/"), Model("models/eyes.onnx", "models/"), Model("../shared/face.onnx", ""));

        Assert.Empty(engine.Errors);
    }

    [Fact]
    public void SameLinkIsDuplicate()
    {
        var first = Model("../a/face.onnx", "models/");
        var second = Model("../b/face.onnx", "models/");

        var engine = Run(first, second);

        var error = Assert.Single(engine.Errors);
        Assert.Equal("KNQ0706", error.Code);
        Assert.Equal(Path.Combine(_folder, "App.csproj"), error.File);
        Assert.Equal(0, error.LineNumber);
        Assert.Contains("KneronModel '../a/face.onnx' and KneronModel '../b/face.onnx'", error.Message);
        Assert.Contains("'models/face.quant.onnx'", error.Message);
        Assert.Contains("OutputName or Link", error.Message);
    }

    [Fact]
    public void SameOutputNameIsDuplicate()
    {
        var first = Model("models/face.onnx", "models/");
        var second = Model("models/face-720.onnx", "models/");
        second.SetMetadata("OutputName", "face");

        var engine = Run(first, second);

        Assert.Equal("KNQ0706", Assert.Single(engine.Errors).Code);
    }

    [Fact]
    public void FolderSpellingAndCaseAreIgnored()
    {
        var first = Model("models/face.onnx", "models/");
        var second = Model("../x/Face.onnx", "./Models/");

        var engine = Run(first, second);

        Assert.Equal("KNQ0706", Assert.Single(engine.Errors).Code);
    }

    [Fact]
    public void SameItemTwiceIsDuplicate()
    {
        var engine = Run(Model("models/face.onnx", "models/"), Model("models/face.onnx", "models/"));

        var error = Assert.Single(engine.Errors);
        Assert.Equal("KNQ0706", error.Code);
        Assert.Contains("KneronModel 'models/face.onnx' is declared twice", error.Message);
    }

    [Fact]
    public void MissingConfigIsCodedError()
    {
        var model = Model("models/face.onnx", "models/");
        File.Delete(model.GetMetadata("Config"));

        var engine = Run(model);

        var error = Assert.Single(engine.Errors);
        Assert.Equal("KNQ0705", error.Code);
        Assert.Equal(Path.Combine(_folder, "App.csproj"), error.File);
        Assert.Contains(model.GetMetadata("Config"), error.Message);
        Assert.Contains("Create face.quant.yaml beside the model", error.Message);
        Assert.Contains("Config metadata", error.Message);
        Assert.DoesNotContain("--config", error.Message);
    }

    [Fact]
    public void MissingModelReportedInsteadOfConfig()
    {
        var model = Model("models/nothere.onnx", "models/");
        File.Delete(model.ItemSpec);
        File.Delete(model.GetMetadata("Config"));

        var engine = Run(model);

        var error = Assert.Single(engine.Errors);
        Assert.Equal("KNQ0201", error.Code);
        Assert.Equal(Path.Combine(_folder, "App.csproj"), error.File);
        Assert.Contains("KneronModel 'models/nothere.onnx'", error.Message);
        Assert.Contains($"the model file '{model.ItemSpec}' was not found", error.Message);
        Assert.Contains("Correct the item's Include path", error.Message);
    }

    [Fact]
    public void MissingDeclaredConfigNamesMetadata()
    {
        var model = Model("models/a.onnx", "models/");
        model.SetMetadata("DeclaredConfig", "models/nope.yaml");
        model.SetMetadata("Config", Path.Combine(_folder, "models", "nope.yaml"));

        var engine = Run(model);

        var error = Assert.Single(engine.Errors);
        Assert.Equal("KNQ0705", error.Code);
        Assert.Contains("Config=\"models/nope.yaml\"", error.Message);
        Assert.Contains("Create nope.yaml there, or correct the item's Config metadata", error.Message);
        Assert.DoesNotContain("a.quant.yaml", error.Message);
    }

    [Theory]
    [InlineData("Platfrom", "Platform")]
    [InlineData("platfrom", "Platform")]
    [InlineData("SnrTreshold", "SnrThreshold")]
    [InlineData("snr_threshold", "SnrThreshold")]
    [InlineData("DatapathBitwidthMod", "DatapathBitwidthMode")]
    [InlineData("OutptuName", "OutputName")]
    [InlineData("Lnik", "Link")]
    [InlineData("Confg", "Config")]
    public void MisspelledMetadataWarns(string name, string suggestion)
    {
        var declared = Declared("models/face.onnx");
        declared.SetMetadata(name, "730");

        var engine = Run(new[] { Model("models/face.onnx", "models/") }, declared);

        var warning = Assert.Single(engine.Warnings);
        Assert.Equal("KNQ0708", warning.Code);
        Assert.Equal(Path.Combine(_folder, "App.csproj"), warning.File);
        Assert.Contains($"KneronModel 'models/face.onnx' has metadata '{name}'", warning.Message);
        Assert.Contains($"did you mean '{suggestion}'?", warning.Message);
    }

    [Theory]
    [InlineData("Platform")]
    [InlineData("platform")]
    [InlineData("Visible")]
    [InlineData("Pack")]
    [InlineData("CopyToPublishDirectory")]
    [InlineData("Owner")]
    [InlineData("Notes")]
    public void OtherMetadataDoesNotWarn(string name)
    {
        var declared = Declared("models/face.onnx");
        declared.SetMetadata(name, "x");

        var engine = Run(new[] { Model("models/face.onnx", "models/") }, declared);

        Assert.Empty(engine.Warnings);
    }

    [Theory]
    [InlineData("PreserveNewest")]
    [InlineData("always")]
    [InlineData("Never")]
    public void KnownCopyValuePasses(string value)
    {
        var model = Model("models/face.onnx", "models/");
        model.SetMetadata("CopyToOutputDirectory", value);

        var engine = Run(model);

        Assert.Empty(engine.Errors);
    }

    [Theory]
    [InlineData("Sometimes")]
    [InlineData("true")]
    [InlineData("")]
    public void UnknownCopyValueIsCodedError(string value)
    {
        var model = Model("models/face.onnx", "models/");
        model.SetMetadata("CopyToOutputDirectory", value);

        var engine = Run(model);

        var error = Assert.Single(engine.Errors);
        Assert.Equal("KNQ0707", error.Code);
        Assert.Contains($"CopyToOutputDirectory '{value}'", error.Message);
        Assert.Contains("PreserveNewest, Always and Never", error.Message);
    }

    private FakeBuildEngine Run(params ITaskItem[] models) => Run(models, Array.Empty<ITaskItem>());

    private FakeBuildEngine Run(ITaskItem[] models, params ITaskItem[] declaredModels)
    {
        var engine = new FakeBuildEngine();
        var task = new KneronCheckModels { BuildEngine = engine, Models = models, DeclaredModels = declaredModels };
        var succeeded = task.Execute();
        Assert.Equal(engine.Errors.Count == 0, succeeded);
        return engine;
    }

    private DeclaredItem Declared(string itemSpec) => new(itemSpec, Path.Combine(_folder, "App.csproj"));

    // A model item as _KneronPrepareModels makes it, with an existing model and config.
    private TaskItem Model(string itemSpec, string relativeOutputDir)
    {
        var fullPath = Path.GetFullPath(Path.Combine(_folder, itemSpec));
        var config = Path.ChangeExtension(fullPath, ".quant.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(config)!);
        File.WriteAllText(config, "platform: 720\n");
        File.WriteAllBytes(fullPath, new byte[] { 8, 7 });

        var item = new TaskItem(fullPath);
        item.SetMetadata("ModelItemSpec", itemSpec);
        item.SetMetadata("DefiningProjectFile", Path.Combine(_folder, "App.csproj"));
        item.SetMetadata("Config", config);
        item.SetMetadata("CopyToOutputDirectory", "PreserveNewest");
        item.SetMetadata("RelativeOutputDir", relativeOutputDir);
        item.SetMetadata("OutputName", Path.GetFileNameWithoutExtension(itemSpec));
        item.SetMetadata("CopyDir", Path.Combine(_folder, "bin", relativeOutputDir));
        return item;
    }
}

/// <summary>
/// A KneronModel item as a project declares it. MSBuild's TaskItem rejects
/// DefiningProjectFullPath as metadata, which the engine sets on real items.
/// </summary>
internal sealed class DeclaredItem : ITaskItem
{
    private readonly Dictionary<string, string> _custom = new(StringComparer.OrdinalIgnoreCase);
    private readonly string _definingProject;

    public DeclaredItem(string itemSpec, string definingProject)
    {
        ItemSpec = itemSpec;
        _definingProject = definingProject;
    }

    public string ItemSpec { get; set; }

    public System.Collections.ICollection MetadataNames => _custom.Keys.Append("DefiningProjectFullPath").ToList();

    public int MetadataCount => _custom.Count + 1;

    public string GetMetadata(string metadataName) =>
        metadataName == "DefiningProjectFullPath" ? _definingProject : _custom.GetValueOrDefault(metadataName, "");

    public void SetMetadata(string metadataName, string metadataValue) => _custom[metadataName] = metadataValue;

    public void RemoveMetadata(string metadataName) => _custom.Remove(metadataName);

    public void CopyMetadataTo(ITaskItem destinationItem)
    {
        foreach (var (name, value) in _custom)
        {
            destinationItem.SetMetadata(name, value);
        }
    }

    public System.Collections.IDictionary CloneCustomMetadata() => new Dictionary<string, string>(_custom);
}
