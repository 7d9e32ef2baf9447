using Kneron.Quantization.Config;

namespace Kneron.Quantization.Calibration;

/// <summary>
/// Every data file a config names (calibration, evaluation and per-input
/// sources, images and tensors) and the folders searched for them, found
/// without loading the model. The results cache keys on these files, and the
/// build re-runs the analysis when one of them or a folder changes.
/// </summary>
public static class InputFiles
{
    public static (IReadOnlyList<string> Files, IReadOnlyList<string> Folders) Of(QuantConfig config)
    {
        var files = new SortedSet<string>(StringComparer.Ordinal);
        var folders = new SortedSet<string>(StringComparer.Ordinal);
        var sections = new List<SampleSourceConfig?> { config.Calibration, config.Evaluation };
        sections.AddRange(config.Inputs.Values.Select(i => i.Calibration));
        foreach (var section in sections.OfType<SampleSourceConfig>())
        {
            var patterns = (section.Images.Value ?? Array.Empty<string>()).Concat(section.Tensors.Value ?? Array.Empty<string>());
            foreach (var pattern in patterns)
            {
                files.UnionWith(FileGlob.Match(config.BaseDirectory, pattern, folders, out _));
            }
        }

        return (files.ToList(), folders.ToList());
    }
}
