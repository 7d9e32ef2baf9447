using SkiaSharp;

namespace Kneron.Bench;

/// <summary>
/// Derives any number of calibration images from the repository's test
/// photos, deterministically: image i is a crop of photo i mod 15 whose size
/// (60–100% of each side) and position come from a random generator seeded
/// with i, mirrored when i is odd, saved as a 256×256 PNG.
/// </summary>
public static class DerivedImages
{
    public static string Create(string sourceFolder, int count, string folder)
    {
        Directory.CreateDirectory(folder);
        var sources = Directory.GetFiles(sourceFolder).Where(f => f.EndsWith(".png") || f.EndsWith(".jpg")).Order(StringComparer.Ordinal).ToList();
        for (int i = 0; i < count; i++)
        {
            var path = Path.Combine(folder, $"derived_{i:D4}.png");
            if (File.Exists(path))
            {
                continue;
            }

            using var source = SKBitmap.Decode(sources[i % sources.Count]);
            var random = new Random(i);
            int width = (int)(source.Width * (0.6 + 0.4 * random.NextDouble()));
            int height = (int)(source.Height * (0.6 + 0.4 * random.NextDouble()));
            int left = random.Next(source.Width - width + 1);
            int top = random.Next(source.Height - height + 1);

            using var surface = SKSurface.Create(new SKImageInfo(256, 256, SKColorType.Rgba8888, SKAlphaType.Premul));
            var canvas = surface.Canvas;
            if (i % 2 == 1)
            {
                canvas.Scale(-1, 1, 128, 128);
            }

            using var image = SKImage.FromBitmap(source);
            canvas.DrawImage(image, new SKRect(left, top, left + width, top + height), new SKRect(0, 0, 256, 256), new SKSamplingOptions(SKFilterMode.Linear));
            using var snapshot = surface.Snapshot();
            using var data = snapshot.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(path, data.ToArray());
        }

        return folder;
    }
}
