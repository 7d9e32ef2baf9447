using Microsoft.Build.Framework;

namespace Kneron.Build.Tasks;

/// <summary>
/// Checks the KneronModel items before any analysis runs: each model and its
/// config exist, each <c>CopyToOutputDirectory</c> is a value the targets act
/// on, and no two items write artifacts to the same path. Warns about
/// metadata whose name is close to one the targets read (<c>Platfrom</c>).
/// Errors and warnings point at the project file that declares the item,
/// without a line, because MSBuild gives a task no line of an item.
/// </summary>
public sealed class KneronCheckModels : Microsoft.Build.Utilities.Task
{
    private static readonly string[] CopyValues = { "PreserveNewest", "Always", "Never" };

    /// <summary>The KneronModel metadata the targets read, as docs/msbuild.md lists them.</summary>
    private static readonly string[] KnownMetadata =
    {
        "Config", "Platform", "SnrThreshold", "DatapathBitwidthMode", "WeightBitwidthMode",
        "OutputName", "Link", "CopyToOutputDirectory",
    };

    /// <summary>
    /// Metadata that MSBuild, the SDK or the IDE give meaning to on any item,
    /// so it is not taken for a misspelling even when close to a known name.
    /// </summary>
    private static readonly string[] CommonItemMetadata =
    {
        "Visible", "DependentUpon", "CopyToPublishDirectory", "LinkBase", "Pack", "PackagePath",
        "SubType", "Generator", "ExcludeFromSingleFile",
    };

    /// <summary>
    /// The prepared models (the targets' <c>_KneronModel</c> items) with the metadata
    /// <c>ModelItemSpec</c>, <c>DefiningProjectFile</c>, <c>Config</c>,
    /// <c>CopyToOutputDirectory</c>, <c>CopyDir</c>, <c>RelativeOutputDir</c> and <c>OutputName</c>.
    /// The other artifacts and the analysis folder derive from the same
    /// folder and name as <c>&lt;OutputName&gt;.quant.onnx</c>, so that path alone is compared.
    /// </summary>
    [Required]
    public ITaskItem[] Models { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>
    /// The KneronModel items as the project declares them, whose custom
    /// metadata names are checked for misspellings. Unlike <see cref="Models"/>,
    /// they carry no metadata the targets add.
    /// </summary>
    public ITaskItem[] DeclaredModels { get; set; } = Array.Empty<ITaskItem>();

    /// <inheritdoc />
    public override bool Execute()
    {
        // Keyed case-insensitively: on Windows and macOS two names that differ
        // only in case are the same file, and a project should build the same everywhere.
        var byArtifactPath = new Dictionary<string, ITaskItem>(StringComparer.OrdinalIgnoreCase);
        foreach (var declared in DeclaredModels)
        {
            CheckMetadataNames(declared);
        }

        foreach (var model in Models)
        {
            // A missing model is reported alone: its config is looked for
            // beside it, so a missing config would only repeat the mistake.
            if (CheckModel(model))
            {
                CheckConfig(model);
            }

            CheckCopyToOutputDirectory(model);

            var key = Path.GetFullPath(Path.Combine(model.GetMetadata("CopyDir"), model.GetMetadata("OutputName")));
            if (byArtifactPath.TryGetValue(key, out var first))
            {
                LogItemError(model, TaskErrors.DuplicateArtifactPath,
                    TaskErrors.DuplicateArtifactPathMessage(ItemSpec(first), ItemSpec(model), ArtifactPath(model)));
            }
            else
            {
                byArtifactPath.Add(key, model);
            }
        }

        return !Log.HasLoggedErrors;
    }

    /// <summary>
    /// Returns the path of the model's quantized model relative to the output
    /// folder, for messages, with '/' separators and no "./" parts.
    /// </summary>
    private static string ArtifactPath(ITaskItem model)
    {
        var relative = Path.Combine(model.GetMetadata("RelativeOutputDir"), model.GetMetadata("OutputName") + ".quant.onnx");
        var segments = relative
            .Split(new[] { '/', '\\' }, StringSplitOptions.RemoveEmptyEntries)
            .Where(segment => segment != ".");
        return string.Join("/", segments);
    }

    private static string ItemSpec(ITaskItem model)
    {
        var spec = model.GetMetadata("ModelItemSpec");
        return spec.Length > 0 ? spec : model.ItemSpec;
    }

    private bool CheckModel(ITaskItem model)
    {
        if (File.Exists(model.ItemSpec))
        {
            return true;
        }

        LogItemError(model, TaskErrors.ModelNotFound, TaskErrors.ModelNotFoundMessage(ItemSpec(model), model.ItemSpec));
        return false;
    }

    private void CheckConfig(ITaskItem model)
    {
        var config = model.GetMetadata("Config");
        if (File.Exists(config))
        {
            return;
        }

        var declaredConfig = model.GetMetadata("DeclaredConfig");
        var message = declaredConfig.Trim().Length > 0
            ? TaskErrors.DeclaredConfigNotFoundMessage(ItemSpec(model), declaredConfig, config)
            : TaskErrors.ConfigNotFoundMessage(ItemSpec(model), config, Path.GetFileNameWithoutExtension(model.ItemSpec) + ".quant.yaml");
        LogItemError(model, TaskErrors.ConfigNotFound, message);
    }

    /// <summary>
    /// Warns about each custom metadata name that is not one the targets read
    /// but lies within <see cref="MetadataNames.MaxTypoDistance"/> edits of one,
    /// ignoring case as MSBuild does. Other unknown names are left alone:
    /// projects attach their own metadata to items.
    /// </summary>
    private void CheckMetadataNames(ITaskItem declared)
    {
        foreach (var name in declared.CloneCustomMetadata().Keys.Cast<string>())
        {
            if (KnownMetadata.Contains(name, StringComparer.OrdinalIgnoreCase) || CommonItemMetadata.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var suggestion = MetadataNames.Closest(name, KnownMetadata);
            if (suggestion != null)
            {
                var file = declared.GetMetadata("DefiningProjectFullPath");
                Log.LogWarning(null, TaskErrors.MisspelledMetadata, null, file.Length > 0 ? file : null, 0, 0, 0, 0,
                    TaskErrors.MisspelledMetadataMessage(declared.ItemSpec, name, suggestion));
            }
        }
    }

    private void CheckCopyToOutputDirectory(ITaskItem model)
    {
        var value = model.GetMetadata("CopyToOutputDirectory");
        if (!CopyValues.Contains(value, StringComparer.OrdinalIgnoreCase))
        {
            LogItemError(model, TaskErrors.InvalidCopyToOutputDirectory, TaskErrors.InvalidCopyToOutputDirectoryMessage(ItemSpec(model), value));
        }
    }

    private void LogItemError(ITaskItem model, string code, string message)
    {
        var file = model.GetMetadata("DefiningProjectFile");
        Log.LogError(null, code, null, file.Length > 0 ? file : null, 0, 0, 0, 0, message);
    }
}
