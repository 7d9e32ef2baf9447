using Kneron.Quantization.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace Kneron.Quantization.Config;

/// <summary>
/// Reads the sample sections: <c>calibration</c>, <c>evaluation</c> and the
/// per-input sources under <c>inputs.&lt;name&gt;</c>.
/// </summary>
internal static class SampleSourceParser
{
    public const string Images = "images";
    public const string Tensors = "tensors";
    public const string MaxSamples = "max_samples";
    public const string Resize = "resize";
    public const string ResizeModeKey = "resize_mode";
    public const string ChannelOrderKey = "channel_order";
    public const string LayoutKey = "layout";
    public const string Mean = "mean";
    public const string Std = "std";
    public const string Outputs = "outputs";
    public const string Shape = "shape";

    public static readonly string[] SourceKeys = { Images, Tensors, MaxSamples };

    public static readonly string[] PreprocessingKeys = { Resize, ResizeModeKey, ChannelOrderKey, LayoutKey, Mean, Std };

    public static readonly string[] CalibrationKeys = [.. SourceKeys, .. PreprocessingKeys];

    public static readonly string[] EvaluationKeys = [.. CalibrationKeys, Outputs];

    public static readonly string[] InputKeys = [Shape, .. CalibrationKeys];

    private static readonly (string, ResizeMode)[] ResizeModes =
    {
        ("stretch", Config.ResizeMode.Stretch),
        ("letterbox", Config.ResizeMode.Letterbox),
        ("center_crop", Config.ResizeMode.CenterCrop),
    };

    private static readonly (string, ChannelOrder)[] ChannelOrders =
    {
        ("RGB", Config.ChannelOrder.RGB),
        ("BGR", Config.ChannelOrder.BGR),
    };

    private static readonly (string, TensorLayout?)[] Layouts =
    {
        ("NCHW", TensorLayout.NCHW),
        ("NHWC", TensorLayout.NHWC),
    };

    /// <summary>Reads the <c>calibration</c> section, which must name exactly one of <c>images</c> and <c>tensors</c>.</summary>
    public static SampleSourceConfig ParseCalibration(ConfigSection section, YamlNode sectionKey)
    {
        RequireOneSource(section, sectionKey);
        return Parse(section, sectionKey, inheritFrom: null);
    }

    /// <summary>
    /// Reads the <c>evaluation</c> section. Preprocessing keys it does not set
    /// are taken from <paramref name="calibration"/>; when it names neither
    /// <c>images</c> nor <c>tensors</c>, it evaluates on the calibration files
    /// (and their <c>max_samples</c> unless it sets its own), which lets a
    /// config choose <c>outputs</c> alone.
    /// </summary>
    public static SampleSourceConfig ParseEvaluation(ConfigSection section, YamlNode sectionKey, SampleSourceConfig calibration)
    {
        RejectBothSources(section);
        return Parse(section, sectionKey, calibration);
    }

    /// <summary>
    /// Reads the source part of an <c>inputs.&lt;name&gt;</c> entry; null when
    /// the entry sets only <c>shape</c>. Unset preprocessing keys are taken from
    /// <paramref name="calibration"/>.
    /// </summary>
    public static SampleSourceConfig? ParseInputSource(ConfigSection section, YamlNode sectionKey, SampleSourceConfig calibration)
    {
        var setsAnySampleKey = CalibrationKeys.Any(section.Has);
        if (!setsAnySampleKey)
        {
            return null;
        }

        RequireOneSource(section, sectionKey);
        return Parse(section, sectionKey, calibration);
    }

    private static SampleSourceConfig Parse(ConfigSection section, YamlNode sectionKey, SampleSourceConfig? inheritFrom)
    {
        var images = ConfigValues.ReadStringList(section, Images);
        var tensors = ConfigValues.ReadStringList(section, Tensors);
        var maxSamples = ConfigValues.ReadOptionalInt(section, MaxSamples, min: 1);
        var resize = ReadResize(section);
        var resizeMode = ConfigValues.ReadEnum(section, ResizeModeKey, Config.ResizeMode.Stretch, ResizeModes);
        var channelOrder = ConfigValues.ReadEnum(section, ChannelOrderKey, Config.ChannelOrder.RGB, ChannelOrders);
        var layout = ConfigValues.ReadEnum(section, LayoutKey, null, Layouts);
        var mean = ConfigValues.ReadNumberList(section, Mean, new[] { 0f }, new[] { 1, 3, 4 }, NumberRange.Any);
        var std = ConfigValues.ReadNumberList(section, Std, new[] { 1f }, new[] { 1, 3, 4 }, NumberRange.Positive);
        var outputs = ConfigValues.ReadStringList(section, Outputs);

        if (inheritFrom is not null)
        {
            if (!images.IsSet && !tensors.IsSet)
            {
                images = inheritFrom.Images;
                tensors = inheritFrom.Tensors;
                maxSamples = maxSamples.IsSet ? maxSamples : inheritFrom.MaxSamples;
            }

            resize = resize.IsSet ? resize : inheritFrom.Resize;
            resizeMode = resizeMode.IsSet ? resizeMode : inheritFrom.ResizeMode;
            channelOrder = channelOrder.IsSet ? channelOrder : inheritFrom.ChannelOrder;
            layout = layout.IsSet ? layout : inheritFrom.Layout;
            mean = mean.IsSet ? mean : inheritFrom.Mean;
            std = std.IsSet ? std : inheritFrom.Std;
        }

        return new SampleSourceConfig
        {
            Images = images,
            Tensors = tensors,
            MaxSamples = maxSamples,
            Resize = resize,
            ResizeMode = resizeMode,
            ChannelOrder = channelOrder,
            Layout = layout,
            Mean = mean,
            Std = std,
            Outputs = outputs,
            Location = section.Document.Locate(sectionKey),
        };
    }

    private static Located<(int Width, int Height)?> ReadResize(ConfigSection section)
    {
        if (ConfigValues.ReadPositiveInts(section, Resize, count: 2) is not var (values, node))
        {
            return ConfigValues.Default<(int Width, int Height)?>(section, null);
        }

        return ConfigValues.Set<(int Width, int Height)?>(section, node, ((int)values[0], (int)values[1]));
    }

    /// <summary>Records an error unless the section names exactly one of images and tensors; parsing goes on either way.</summary>
    private static void RequireOneSource(ConfigSection section, YamlNode sectionKey)
    {
        RejectBothSources(section);
        if (!section.Has(Images) && !section.Has(Tensors))
        {
            section.Document.AddError(section.Document.Error(ConfigCodes.NoSource, sectionKey,
                $"'{section.Path}' sets neither images nor tensors; add images: <glob> for image files or tensors: <glob> for .npy files."));
        }
    }

    private static void RejectBothSources(ConfigSection section)
    {
        if (section.TryGet(Images, out _, out _) && section.TryGet(Tensors, out var tensorsKey, out _))
        {
            section.Document.AddError(section.Document.Error(ConfigCodes.BothSources, tensorsKey,
                $"'{section.Path}' sets both images and tensors; keep only one of them."));
        }
    }
}
