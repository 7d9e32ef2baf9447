using System.Runtime.InteropServices;
using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;
using SkiaSharp;

namespace Kneron.Quantization.Calibration;

/// <summary>
/// The checked preprocessing for one image-fed model input: target size,
/// channel count and layout, resize mode, channel order, and mean and std
/// already expanded to one entry per channel.
/// </summary>
internal sealed record ImageFeed(
    int Width,
    int Height,
    int Channels,
    TensorLayout Layout,
    ResizeMode ResizeMode,
    ChannelOrder ChannelOrder,
    float[] Mean,
    float[] Std);

/// <summary>
/// Turns an image file into a model input tensor. It decodes any format Skia
/// reads (PNG and JPEG among them) to 8-bit RGBA, resizes and orders the
/// channels. Then it normalizes 0–255 values as (value − mean[c]) / std[c]
/// and lays them out as NCHW or NHWC with batch 1.
/// </summary>
internal static class ImageTensorizer
{
    // Mipmap sampling is requested so that a strong downscale averages source pixels instead of skipping them.
    // NOTE: no test checks that Skia's ScalePixels builds the mipmaps; aliasing on large downscales is unmeasured.
    private static readonly SKSamplingOptions Sampling = new(SKFilterMode.Linear, SKMipmapMode.Linear);

    /// <summary>
    /// Largest image decoded, in pixels (2^28, 1 GiB as RGBA). A larger one is
    /// rejected before Skia tries to allocate it.
    /// </summary>
    public const long MaxPixels = 1L << 28;

    public static float[] Load(string path, ImageFeed feed)
    {
        using var decoded = Decode(path);
        using var resized = Resize(decoded, feed);
        var rgba = ReadUnpremultipliedRgba(resized);
        return ToTensor(rgba, feed);
    }

    /// <summary>
    /// Decodes to premultiplied RGBA 8888, which Skia's scaling needs. For
    /// opaque images premultiplied and unpremultiplied pixels are equal. A
    /// grayscale image decodes to R = G = B with alpha 255.
    /// </summary>
    private static SKBitmap Decode(string path)
    {
        if (!File.Exists(path))
        {
            throw new KnqException(CalibrationCodes.FileUnreadable, new SourceLocation(path),
                $"image file '{path}' no longer exists; restore it or run the build again to match the current files.");
        }

        if (new FileInfo(path).Length == 0)
        {
            throw DecodeFailed(path, "the file is empty");
        }

        // NOTE: the EXIF orientation of JPEG files is not applied; a rotated phone photo is fed as stored.
        using var codec = SKCodec.Create(path, out var createResult);
        if (codec is null)
        {
            throw DecodeFailed(path, Reason(createResult));
        }

        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if ((long)width * height > MaxPixels)
        {
            throw DecodeFailed(path, $"the image is {width}×{height} pixels, above the limit of {MaxPixels} (2^28) pixels");
        }

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            bitmap.Dispose();
            throw DecodeFailed(path, Reason(result));
        }

        return bitmap;
    }

    /// <summary>
    /// Returns the reason for a failed decode in the user's terms. Skia's own
    /// result names (such as <c>IncompleteInput</c>) mean nothing to a user, so
    /// they stay out of the message.
    /// </summary>
    private static string Reason(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the file is truncated",
        SKCodecResult.ErrorInInput or SKCodecResult.InvalidInput => "the image data is corrupt",
        SKCodecResult.Unimplemented => "it is not a PNG or JPEG image, nor another format that can be decoded",
        _ => "the decoder could not convert it to 8-bit RGBA",
    };

    private static KnqException DecodeFailed(string path, string reason) =>
        new(CalibrationCodes.ImageDecodeFailed, new SourceLocation(path),
            $"image file '{path}' could not be decoded: {reason}; remove it or replace it with a valid PNG or JPEG.");

    /// <summary>
    /// Scales the image to the feed's size. Letterbox keeps the aspect ratio
    /// and centres the image on opaque black (0 in every color channel, alpha
    /// 255). Center crop scales the short side to fit and crops the centre.
    /// </summary>
    private static SKBitmap Resize(SKBitmap source, ImageFeed feed)
    {
        var target = new SKBitmap(new SKImageInfo(feed.Width, feed.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        target.Erase(SKColors.Black);

        var sourceRect = new SKRectI(0, 0, source.Width, source.Height);
        var targetRect = new SKRectI(0, 0, feed.Width, feed.Height);
        switch (feed.ResizeMode)
        {
            case ResizeMode.Letterbox:
            {
                var scale = Math.Min((double)feed.Width / source.Width, (double)feed.Height / source.Height);
                var width = Math.Clamp((int)Math.Round(source.Width * scale), 1, feed.Width);
                var height = Math.Clamp((int)Math.Round(source.Height * scale), 1, feed.Height);
                var left = (feed.Width - width) / 2;
                var top = (feed.Height - height) / 2;
                targetRect = new SKRectI(left, top, left + width, top + height);
                break;
            }

            case ResizeMode.CenterCrop:
            {
                var scale = Math.Max((double)feed.Width / source.Width, (double)feed.Height / source.Height);
                var width = Math.Clamp((int)Math.Round(feed.Width / scale), 1, source.Width);
                var height = Math.Clamp((int)Math.Round(feed.Height / scale), 1, source.Height);
                var left = (source.Width - width) / 2;
                var top = (source.Height - height) / 2;
                sourceRect = new SKRectI(left, top, left + width, top + height);
                break;
            }
        }

        using var sourcePixels = source.PeekPixels();
        using var targetPixels = target.PeekPixels();
        using var from = sourcePixels.ExtractSubset(sourceRect) ?? throw new InvalidOperationException($"Skia rejected the source rectangle {sourceRect}.");
        using var to = targetPixels.ExtractSubset(targetRect) ?? throw new InvalidOperationException($"Skia rejected the target rectangle {targetRect}.");
        if (from.Width == to.Width && from.Height == to.Height)
        {
            // Same size: copy the pixels unfiltered, so that values stay exact.
            from.ReadPixels(to);
        }
        else if (!from.ScalePixels(to, Sampling))
        {
            target.Dispose();
            throw new InvalidOperationException($"Skia failed to scale a {from.Width}×{from.Height} image to {to.Width}×{to.Height}.");
        }

        return target;
    }

    private static byte[] ReadUnpremultipliedRgba(SKBitmap bitmap)
    {
        var info = new SKImageInfo(bitmap.Width, bitmap.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var buffer = new byte[info.BytesSize];
        var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
        try
        {
            using var pixels = bitmap.PeekPixels();
            if (!pixels.ReadPixels(info, handle.AddrOfPinnedObject(), info.RowBytes))
            {
                throw new InvalidOperationException("Skia failed to convert the image to unpremultiplied RGBA.");
            }
        }
        finally
        {
            handle.Free();
        }

        return buffer;
    }

    /// <summary>
    /// Maps RGBA bytes to the tensor. 1 channel is luminance
    /// 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601); 3 channels are R, G, B
    /// (B, G, R with BGR); 4 channels add alpha last.
    /// </summary>
    internal static float[] ToTensor(byte[] rgba, ImageFeed feed)
    {
        var plane = feed.Width * feed.Height;
        var tensor = new float[plane * feed.Channels];
        var swap = feed.ChannelOrder == ChannelOrder.BGR;
        Span<float> pixel = stackalloc float[4];

        for (var i = 0; i < plane; i++)
        {
            float r = rgba[i * 4], g = rgba[i * 4 + 1], b = rgba[i * 4 + 2], a = rgba[i * 4 + 3];
            if (feed.Channels == 1)
            {
                pixel[0] = 0.299f * r + 0.587f * g + 0.114f * b;
            }
            else
            {
                pixel[0] = swap ? b : r;
                pixel[1] = g;
                pixel[2] = swap ? r : b;
                pixel[3] = a;
            }

            for (var c = 0; c < feed.Channels; c++)
            {
                var value = (pixel[c] - feed.Mean[c]) / feed.Std[c];
                var index = feed.Layout == TensorLayout.NCHW ? c * plane + i : i * feed.Channels + c;
                tensor[index] = value;
            }
        }

        return tensor;
    }
}
