using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;

namespace Kneron.Quantization.Calibration;

/// <summary>
/// Finds the sample files of a config section and checks, before any file is
/// decoded, that they can feed the model's inputs.
/// </summary>
public static class SampleSetLoader
{
    private static readonly int[] ImageChannelCounts = { 1, 3, 4 };

    /// <summary>
    /// Builds the sample set for <paramref name="section"/> (<c>config.Calibration</c>
    /// or <c>config.Evaluation</c>, whose preprocessing the config loader already
    /// filled in from calibration).
    /// </summary>
    /// <remarks>
    /// An input with its own source under <c>inputs.&lt;name&gt;</c> uses it for
    /// both calibration and evaluation. Otherwise <paramref name="section"/>
    /// feeds the input when the model has a single input, or a single float
    /// input and this is it. Non-float inputs need <c>tensors</c>.
    /// <paramref name="inputs"/> are the model's inputs as the graph normalizer
    /// returns them, which has already rejected an <c>inputs.&lt;name&gt;</c>
    /// naming no model input (KNQ0206); an entry for another name is ignored here.
    /// </remarks>
    /// <exception cref="KnqException">A pattern matches no file, or the preprocessing does not fit an input's shape.</exception>
    public static SampleSet Load(QuantConfig config, SampleSourceConfig section, IReadOnlyList<ModelInput> inputs)
    {
        var floatInputCount = inputs.Count(i => i.IsFloat);
        var matched = new SortedSet<string>(StringComparer.Ordinal);
        var watched = new SortedSet<string>(StringComparer.Ordinal);
        var plans = new List<(ModelInput Input, SampleSourceConfig Source, List<string> Files, ImageFeed? Image)>();

        foreach (var input in inputs)
        {
            var source = SourceFor(config, section, input, inputs.Count, floatInputCount);
            var useImages = source.Images.Value.Count > 0;
            if (useImages && !input.IsFloat)
            {
                throw new KnqException(CalibrationCodes.NonFloatInputNeedsTensors, source.Images.Location,
                    $"model input '{input.Name}' is not float, so images cannot feed it; give it .npy files with inputs.{input.Name}.tensors.");
            }

            var image = useImages ? CheckImageFeed(input, source) : null;
            var files = MatchFiles(config, source, useImages, watched);
            matched.UnionWith(files);
            plans.Add((input, source, files, image));
        }

        var count = plans.Count == 0 ? 0 : plans.Min(p => Math.Min(p.Files.Count, p.Source.MaxSamples.Value ?? int.MaxValue));
        var feeds = plans.Select(p => new InputFeed(p.Input, p.Files.Take(count).ToArray(), p.Image)).ToArray();
        return new SampleSet(feeds, count, matched.ToArray(), watched.ToArray());
    }

    private static SampleSourceConfig SourceFor(QuantConfig config, SampleSourceConfig section, ModelInput input, int inputCount, int floatInputCount)
    {
        if (config.Inputs.TryGetValue(input.Name, out var inputConfig) && inputConfig.Calibration is { } own)
        {
            return own;
        }

        if (inputCount == 1 || (input.IsFloat && floatInputCount == 1))
        {
            return section;
        }

        throw new KnqException(CalibrationCodes.InputWithoutSource, section.Location,
            $"model input '{input.Name}' has no sample source; a model with several inputs needs inputs.{input.Name}.images or inputs.{input.Name}.tensors in the config.");
    }

    /// <summary>Expands the section's patterns; each pattern must match at least one file.</summary>
    private static List<string> MatchFiles(QuantConfig config, SampleSourceConfig source, bool useImages, ISet<string> watched)
    {
        var patterns = useImages ? source.Images : source.Tensors;
        var key = useImages ? "images" : "tensors";
        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var pattern in patterns.Value)
        {
            var found = FileGlob.Match(config.BaseDirectory, pattern, watched, out var searchRoot);
            if (found.Count == 0)
            {
                throw new KnqException(CalibrationCodes.NoFileMatched, patterns.Location,
                    $"{key} pattern '{pattern}' matched no file (searched in '{searchRoot}'); fix the pattern, which is relative to the config file's folder, or add the files.");
            }

            files.UnionWith(found);
        }

        return files.ToList();
    }

    /// <summary>Checks that images can feed <paramref name="input"/> and fixes size, layout and per-channel mean and std.</summary>
    private static ImageFeed CheckImageFeed(ModelInput input, SampleSourceConfig source)
    {
        var shape = input.Shape;
        var shapeText = SampleSet.FormatShape(shape);
        if (shape.Count != 4 || shape.Any(d => d <= 0))
        {
            throw new KnqException(CalibrationCodes.UnsupportedImageShape, source.Images.Location,
                $"model input '{input.Name}' has shape {shapeText}, but images need a rank-4 shape with positive dimensions; set inputs.{input.Name}.shape for dynamic dimensions, or use tensors.");
        }

        var layout = source.Layout.Value ?? InferLayout(input, source);
        var channels = (int)(layout == TensorLayout.NCHW ? shape[1] : shape[3]);
        if (!ImageChannelCounts.Contains(channels))
        {
            var location = source.Layout.IsSet ? source.Layout.Location : source.Images.Location;
            throw new KnqException(CalibrationCodes.UnsupportedImageShape, location,
                $"model input '{input.Name}' has shape {shapeText}, which as {layout} has {channels} channels; images feed 1, 3 or 4 channels, so check layout or use tensors.");
        }

        if (shape[0] != 1)
        {
            throw new KnqException(CalibrationCodes.BatchNotOne, source.Images.Location,
                $"model input '{input.Name}' has batch size {shape[0]} (shape {shapeText}); images feed batch size 1, so set inputs.{input.Name}.shape with a leading 1.");
        }

        var (height, width) = layout == TensorLayout.NCHW ? ((int)shape[2], (int)shape[3]) : ((int)shape[1], (int)shape[2]);
        if (source.Resize.Value is { } resize && (resize.Width != width || resize.Height != height))
        {
            throw new KnqException(CalibrationCodes.ResizeMismatch, source.Resize.Location,
                $"resize is [{resize.Width}, {resize.Height}], but model input '{input.Name}' takes {width}×{height} pixels (width × height); set resize to [{width}, {height}] or remove it.");
        }

        var mean = PerChannel(source.Mean, "mean", input, channels);
        var std = PerChannel(source.Std, "std", input, channels);
        return new ImageFeed(width, height, channels, layout, source.ResizeMode.Value, source.ChannelOrder.Value, mean, std);
    }

    /// <summary>Takes the channel dimension as dim 1 when it is 1, 3 or 4, else dim 3 when that is.</summary>
    private static TensorLayout InferLayout(ModelInput input, SampleSourceConfig source)
    {
        if (ImageChannelCounts.Contains((int)input.Shape[1]))
        {
            return TensorLayout.NCHW;
        }

        if (ImageChannelCounts.Contains((int)input.Shape[3]))
        {
            return TensorLayout.NHWC;
        }

        throw new KnqException(CalibrationCodes.LayoutNotInferable, source.Images.Location,
            $"the channel dimension of model input '{input.Name}' (shape {SampleSet.FormatShape(input.Shape)}) cannot be inferred, because neither dimension 1 nor 3 is 1, 3 or 4; set layout: NCHW or layout: NHWC.");
    }

    private static float[] PerChannel(Located<IReadOnlyList<float>> values, string key, ModelInput input, int channels)
    {
        if (values.Value.Count == 1)
        {
            return Enumerable.Repeat(values.Value[0], channels).ToArray();
        }

        if (values.Value.Count != channels)
        {
            throw new KnqException(CalibrationCodes.MeanStdLength, values.Location,
                $"{key} has {values.Value.Count} entries, but model input '{input.Name}' has {channels} channels; give 1 entry (used for every channel) or {channels}.");
        }

        return values.Value.ToArray();
    }
}
