using Kneron.Quantization.Calibration;
using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;
using SkiaSharp;

namespace Kneron.Quantization.Tests;

public sealed class SampleSetTests : IDisposable
{
    private static readonly ModelInput Nchw3 = new("image", new long[] { 1, 3, 2, 2 }, true);

    private readonly TestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>Writes an opaque PNG whose pixel (x, y) is pixels[y][x] as (R, G, B).</summary>
    private string WritePng(string relative, (byte R, byte G, byte B)[][] pixels)
    {
        var height = pixels.Length;
        var width = pixels[0].Length;
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var (r, g, b) = pixels[y][x];
                bitmap.SetPixel(x, y, new SKColor(r, g, b, 255));
            }
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return _folder.WriteBytes(relative, data.ToArray());
    }

    private static readonly (byte, byte, byte)[][] TwoByTwo =
    {
        new (byte, byte, byte)[] { (10, 20, 30), (40, 50, 60) },
        new (byte, byte, byte)[] { (70, 80, 90), (100, 110, 120) },
    };

    private QuantConfig Config(string calibrationLines, string extra = "")
    {
        var yaml = "platform: 720\ncalibration:\n" + calibrationLines + extra;
        return ConfigLoader.Load(_folder.WriteText("model.quant.yaml", yaml));
    }

    private static float[] Single(SampleSet set, string input = "image") => Assert.Single(set.Enumerate()).Inputs[input];

    private void AssertAt(KnqException error, string code, int line, int column)
    {
        Assert.Equal(code, error.Code);
        Assert.Equal(_folder.Combine("model.quant.yaml"), error.Diagnostic.Location.Path);
        Assert.Equal(line, error.Diagnostic.Location.Line);
        Assert.Equal(column, error.Diagnostic.Location.Column);
    }

    [Fact]
    public void Png_Nchw()
    {
        WritePng("img.png", TwoByTwo);
        var config = Config("  images: img.png\n");

        var tensor = Single(SampleSetLoader.Load(config, config.Calibration, [Nchw3]));

        Assert.Equal(new float[] { 10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120 }, tensor);
    }

    [Fact]
    public void Png_Nhwc()
    {
        WritePng("img.png", TwoByTwo);
        var config = Config("  images: img.png\n");
        var input = new ModelInput("image", new long[] { 1, 2, 2, 3 }, true);

        var tensor = Single(SampleSetLoader.Load(config, config.Calibration, [input]));

        Assert.Equal(new float[] { 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120 }, tensor);
    }

    [Fact]
    public void Png_BgrMeanStd()
    {
        WritePng("img.png", TwoByTwo);
        var config = Config("  images: img.png\n  channel_order: BGR\n  mean: [30, 20, 10]\n  std: [2, 5, 10]\n");

        var tensor = Single(SampleSetLoader.Load(config, config.Calibration, [Nchw3]));

        // Channel 0 is blue: (30 - 30) / 2, (60 - 30) / 2, ...; channel 2 is red: (10 - 10) / 10, ...
        Assert.Equal(new float[] { 0, 15, 30, 45, 0, 6, 12, 18, 0, 3, 6, 9 }, tensor);
    }

    [Fact]
    public void Png_MeanBroadcast()
    {
        WritePng("img.png", TwoByTwo);
        var config = Config("  images: img.png\n  mean: 10\n  std: 10\n");

        var tensor = Single(SampleSetLoader.Load(config, config.Calibration, [Nchw3]));

        Assert.Equal(new float[] { 0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11 }, tensor);
    }

    [Fact]
    public void Png_Luminance()
    {
        WritePng("img.png", TwoByTwo);
        var config = Config("  images: img.png\n");
        var input = new ModelInput("image", new long[] { 1, 1, 2, 2 }, true);

        var tensor = Single(SampleSetLoader.Load(config, config.Calibration, [input]));

        Assert.Equal(0.299f * 10 + 0.587f * 20 + 0.114f * 30, tensor[0], 4);
        Assert.Equal(0.299f * 100 + 0.587f * 110 + 0.114f * 120, tensor[3], 4);
    }

    [Fact]
    public void Png_AlphaChannel()
    {
        WritePng("img.png", TwoByTwo);
        var config = Config("  images: img.png\n");
        var input = new ModelInput("image", new long[] { 1, 2, 2, 4 }, true);

        var tensor = Single(SampleSetLoader.Load(config, config.Calibration, [input]));

        Assert.Equal(new float[] { 10, 20, 30, 255 }, tensor[..4]);
        Assert.Equal(new float[] { 100, 110, 120, 255 }, tensor[12..]);
    }

    [Fact]
    public void Letterbox_PadsTopBottom()
    {
        var row = new (byte, byte, byte)[] { (200, 100, 50), (200, 100, 50), (200, 100, 50), (200, 100, 50) };
        WritePng("wide.png", [row, row]);
        var config = Config("  images: wide.png\n  resize_mode: letterbox\n");
        var input = new ModelInput("image", new long[] { 1, 3, 4, 4 }, true);

        var tensor = Single(SampleSetLoader.Load(config, config.Calibration, [input]));

        var red = tensor[..16];
        Assert.Equal(new float[4], red[0..4]);
        Assert.Equal(new float[] { 200, 200, 200, 200 }, red[4..8]);
        Assert.Equal(new float[] { 200, 200, 200, 200 }, red[8..12]);
        Assert.Equal(new float[4], red[12..16]);
        Assert.Equal(new float[4], tensor[16..20]);
        Assert.Equal(new float[] { 100, 100, 100, 100 }, tensor[20..24]);
    }

    [Fact]
    public void CenterCrop_KeepsMiddle()
    {
        var row = new (byte, byte, byte)[] { (1, 1, 1), (2, 2, 2), (3, 3, 3), (4, 4, 4) };
        WritePng("wide.png", [row, row]);
        var config = Config("  images: wide.png\n  resize_mode: center_crop\n");
        var input = new ModelInput("image", new long[] { 1, 1, 2, 2 }, true);

        var tensor = Single(SampleSetLoader.Load(config, config.Calibration, [input]));

        Assert.Equal(2f, tensor[0], 4);
        Assert.Equal(3f, tensor[1], 4);
        Assert.Equal(2f, tensor[2], 4);
        Assert.Equal(3f, tensor[3], 4);
    }

    [Fact]
    public void Stretch_RealImage()
    {
        var config = Config($"  images: {Path.Combine(TestFolder.DataFolder(), "images", "astronaut.png")}\n  mean: 127.5\n  std: 127.5\n");
        var input = new ModelInput("image", new long[] { 1, 3, 32, 48 }, true);

        var tensor = Single(SampleSetLoader.Load(config, config.Calibration, [input]));

        Assert.Equal(3 * 32 * 48, tensor.Length);
        Assert.All(tensor, v => Assert.InRange(v, -1f, 1f));
        Assert.True(tensor.Max() - tensor.Min() > 1f, "a photo should span much of the value range");
    }

    [Fact]
    public void Grayscale_FeedsRgbEqually()
    {
        var config = Config($"  images: {Path.Combine(TestFolder.DataFolder(), "images", "camera.png")}\n");
        var input = new ModelInput("image", new long[] { 1, 64, 64, 3 }, true);

        var tensor = Single(SampleSetLoader.Load(config, config.Calibration, [input]));

        for (var i = 0; i < 64 * 64; i++)
        {
            Assert.Equal(tensor[i * 3], tensor[i * 3 + 1]);
            Assert.Equal(tensor[i * 3], tensor[i * 3 + 2]);
        }
    }

    [Fact]
    public void Jpeg_RealImages()
    {
        var images = Path.Combine(TestFolder.DataFolder(), "images");
        var config = Config($"  images: {images}/*.jpg\n");
        var input = new ModelInput("image", new long[] { 1, 3, 16, 16 }, true);

        var set = SampleSetLoader.Load(config, config.Calibration, [input]);
        var samples = set.Enumerate().ToList();

        Assert.Equal(4, set.Count);
        Assert.Equal(4, samples.Count);
        Assert.Equal(Path.Combine(images, "grace_hopper.jpg"), samples[0].Sources[0]);
        Assert.All(samples, s => Assert.Equal(768, s.Inputs["image"].Length));
    }

    [Fact]
    public void Glob_RecursiveSortedAndCapped()
    {
        WritePng("data/b.png", TwoByTwo);
        WritePng("data/a.png", TwoByTwo);
        WritePng("data/sub/c.png", TwoByTwo);
        _folder.WriteText("data/notes.txt", "not an image");
        var config = Config("  images: data/**/*.png\n  max_samples: 2\n");

        var set = SampleSetLoader.Load(config, config.Calibration, [Nchw3]);

        Assert.Equal(new[] { _folder.Combine("data/a.png"), _folder.Combine("data/b.png"), _folder.Combine("data/sub/c.png") }, set.MatchedFiles);
        Assert.Equal(new[] { _folder.Combine("data/a.png"), _folder.Combine("data/b.png") }, set.UsedFiles);
        Assert.Equal(2, set.Count);
        Assert.Contains(_folder.Combine("data"), set.WatchedFolders);
        Assert.Contains(_folder.Combine("data/sub"), set.WatchedFolders);
    }

    [Fact]
    public void Glob_ListAndQuestionMark()
    {
        WritePng("x1.png", TwoByTwo);
        WritePng("x2.png", TwoByTwo);
        WritePng("y.png", TwoByTwo);
        var config = Config("  images: [x?.png, y.png, x1.png]\n");

        var set = SampleSetLoader.Load(config, config.Calibration, [Nchw3]);

        Assert.Equal(new[] { _folder.Combine("x1.png"), _folder.Combine("x2.png"), _folder.Combine("y.png") }, set.MatchedFiles);
        Assert.Equal(3, set.Count);
        Assert.Equal(new[] { _folder.Path }, set.WatchedFolders);
    }

    [Fact]
    public void Glob_NoMatch()
    {
        var config = Config("  max_samples: 3\n  images: missing/*.png\n");

        var error = Assert.Throws<KnqException>(() => SampleSetLoader.Load(config, config.Calibration, [Nchw3]));

        AssertAt(error, CalibrationCodes.NoFileMatched, 4, 11);
        Assert.Contains("'missing/*.png'", error.Message);
        Assert.Contains(_folder.Combine("missing"), error.Message);
    }

    [Fact]
    public void Enumerate_Repeatable()
    {
        WritePng("a.png", TwoByTwo);
        var config = Config("  images: a.png\n");
        var set = SampleSetLoader.Load(config, config.Calibration, [Nchw3]);

        var first = Single(set);
        var second = Single(set);

        Assert.Equal(first, second);
    }

    [Fact]
    public void Truncated_DecodeError()
    {
        var bad = Path.Combine(TestFolder.DataFolder(), "bad", "truncated.jpg");
        var config = Config($"  images: {bad}\n");
        var set = SampleSetLoader.Load(config, config.Calibration, [Nchw3]);

        var error = Assert.Throws<KnqException>(() => set.Enumerate().ToList());

        Assert.Equal(CalibrationCodes.ImageDecodeFailed, error.Code);
        Assert.Equal(bad, error.Diagnostic.Location.Path);
        Assert.Equal(0, error.Diagnostic.Location.Line);
        Assert.Equal($"image file '{bad}' could not be decoded: the file is truncated; remove it or replace it with a valid PNG or JPEG.", error.Message);
    }

    [Fact]
    public void EmptyFile_DecodeError()
    {
        var path = _folder.WriteBytes("z.jpg", []);
        var config = Config("  images: z.jpg\n");
        var set = SampleSetLoader.Load(config, config.Calibration, [Nchw3]);

        var error = Assert.Throws<KnqException>(() => set.Enumerate().ToList());

        Assert.Equal(CalibrationCodes.ImageDecodeFailed, error.Code);
        Assert.Equal(path, error.Diagnostic.Location.Path);
        Assert.Equal($"image file '{path}' could not be decoded: the file is empty; remove it or replace it with a valid PNG or JPEG.", error.Message);
    }

    [Fact]
    public void NotAnImage_DecodeError()
    {
        var path = _folder.WriteText("fake.png", "plain text, not a PNG");
        var config = Config("  images: fake.png\n");
        var set = SampleSetLoader.Load(config, config.Calibration, [Nchw3]);

        var error = Assert.Throws<KnqException>(() => set.Enumerate().ToList());

        Assert.Equal(CalibrationCodes.ImageDecodeFailed, error.Code);
        Assert.Equal(path, error.Diagnostic.Location.Path);
        Assert.Contains("could not be decoded: it is not a PNG or JPEG image", error.Message);
        Assert.DoesNotContain("Unimplemented", error.Message);
    }

    [Fact]
    public void HugeImage_RejectedBeforeDecode()
    {
        var path = _folder.WriteBytes("huge.png", PngHeaderOnly(100_000, 100_000));
        var config = Config("  images: huge.png\n");
        var set = SampleSetLoader.Load(config, config.Calibration, [Nchw3]);

        var error = Assert.Throws<KnqException>(() => set.Enumerate().ToList());

        Assert.Equal(CalibrationCodes.ImageDecodeFailed, error.Code);
        Assert.Contains("the image is 100000×100000 pixels, above the limit of 268435456 (2^28) pixels", error.Message);
    }

    /// <summary>
    /// Returns a PNG whose header declares an 8-bit RGB image of the given
    /// size, with an empty IDAT chunk: enough for Skia to create a codec and
    /// report the size, but no pixel data.
    /// </summary>
    private static byte[] PngHeaderOnly(int width, int height)
    {
        byte[] header = [.. BigEndian(width), .. BigEndian(height), 8, 2, 0, 0, 0];
        byte[] emptyZlibStream = [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01];
        return
        [
            0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A,
            .. PngChunk("IHDR", header),
            .. PngChunk("IDAT", emptyZlibStream),
            .. PngChunk("IEND", []),
        ];
    }

    private static byte[] PngChunk(string type, byte[] data)
    {
        byte[] typeAndData = [.. type.Select(c => (byte)c), .. data];
        return [.. BigEndian(data.Length), .. typeAndData, .. BigEndian((int)Crc32(typeAndData))];
    }

    private static byte[] BigEndian(int value) =>
        [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    /// <summary>CRC-32 as PNG chunks use it (ISO-HDLC, reflected polynomial 0xEDB88320).</summary>
    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }

    [Fact]
    public void Layout_NotInferable()
    {
        WritePng("a.png", TwoByTwo);
        var config = Config("  images: a.png\n");
        var input = new ModelInput("image", new long[] { 1, 2, 2, 2 }, true);

        var error = Assert.Throws<KnqException>(() => SampleSetLoader.Load(config, config.Calibration, [input]));

        AssertAt(error, CalibrationCodes.LayoutNotInferable, 3, 11);
        Assert.Contains("layout", error.Message);
    }

    [Fact]
    public void Layout_Explicit()
    {
        WritePng("a.png", TwoByTwo);
        var config = Config("  images: a.png\n  layout: NHWC\n");
        var input = new ModelInput("image", new long[] { 1, 3, 3, 3 }, true);

        var tensor = Single(SampleSetLoader.Load(config, config.Calibration, [input]));

        Assert.Equal(27, tensor.Length);
    }

    [Fact]
    public void Batch_NotOne()
    {
        WritePng("a.png", TwoByTwo);
        var config = Config("  images: a.png\n");
        var input = new ModelInput("image", new long[] { 2, 3, 2, 2 }, true);

        var error = Assert.Throws<KnqException>(() => SampleSetLoader.Load(config, config.Calibration, [input]));

        AssertAt(error, CalibrationCodes.BatchNotOne, 3, 11);
    }

    [Fact]
    public void Shape_NotRank4()
    {
        WritePng("a.png", TwoByTwo);
        var config = Config("  images: a.png\n");
        var input = new ModelInput("image", new long[] { 1, 12 }, true);

        var error = Assert.Throws<KnqException>(() => SampleSetLoader.Load(config, config.Calibration, [input]));

        AssertAt(error, CalibrationCodes.UnsupportedImageShape, 3, 11);
    }

    [Fact]
    public void Resize_Mismatch()
    {
        WritePng("a.png", TwoByTwo);
        var config = Config("  images: a.png\n  resize: [4, 2]\n");

        var error = Assert.Throws<KnqException>(() => SampleSetLoader.Load(config, config.Calibration, [Nchw3]));

        AssertAt(error, CalibrationCodes.ResizeMismatch, 4, 11);
        Assert.Contains("[2, 2]", error.Message);
    }

    [Fact]
    public void Resize_Matching()
    {
        WritePng("a.png", TwoByTwo);
        var config = Config("  images: a.png\n  resize: [2, 2]\n");

        var tensor = Single(SampleSetLoader.Load(config, config.Calibration, [Nchw3]));

        Assert.Equal(10f, tensor[0]);
    }

    [Fact]
    public void Mean_WrongChannelCount()
    {
        WritePng("a.png", TwoByTwo);
        var config = Config("  images: a.png\n  mean: [1, 2, 3]\n");
        var input = new ModelInput("image", new long[] { 1, 1, 2, 2 }, true);

        var error = Assert.Throws<KnqException>(() => SampleSetLoader.Load(config, config.Calibration, [input]));

        AssertAt(error, CalibrationCodes.MeanStdLength, 4, 9);
    }

    [Fact]
    public void Std_WrongChannelCount()
    {
        WritePng("a.png", TwoByTwo);
        var config = Config("  images: a.png\n  std: [1, 2, 3, 4]\n");

        var error = Assert.Throws<KnqException>(() => SampleSetLoader.Load(config, config.Calibration, [Nchw3]));

        AssertAt(error, CalibrationCodes.MeanStdLength, 4, 8);
    }

    [Fact]
    public void Tensors_WithoutBatchDim()
    {
        _folder.WriteBytes("t/0.npy", NpyFiles.Build("<f4", "(3, 2, 2)", NpyFiles.Float32(Enumerable.Range(0, 12).Select(i => (float)i).ToArray())));
        _folder.WriteBytes("t/1.npy", NpyFiles.Build("<f8", "(1, 3, 2, 2)", NpyFiles.Float64(Enumerable.Range(0, 12).Select(i => -i / 2.0).ToArray())));
        var config = Config("  tensors: t/*.npy\n");

        var samples = SampleSetLoader.Load(config, config.Calibration, [Nchw3]).Enumerate().ToList();

        Assert.Equal(2, samples.Count);
        Assert.Equal(11f, samples[0].Inputs["image"][11]);
        Assert.Equal(-5.5f, samples[1].Inputs["image"][11]);
    }

    [Fact]
    public void Tensors_ShapeMismatch()
    {
        var path = _folder.WriteBytes("t/0.npy", NpyFiles.Build("<f4", "(2, 2, 3)", NpyFiles.Float32(new float[12])));
        var config = Config("  tensors: t/*.npy\n");
        var set = SampleSetLoader.Load(config, config.Calibration, [Nchw3]);

        var error = Assert.Throws<KnqException>(() => set.Enumerate().ToList());

        Assert.Equal(CalibrationCodes.NpyShapeMismatch, error.Code);
        Assert.Equal(path, error.Diagnostic.Location.Path);
        Assert.Contains("[2, 2, 3]", error.Message);
        Assert.Contains("[1, 3, 2, 2] or [3, 2, 2]", error.Message);
    }

    [Fact]
    public void MultiInput_NoSource()
    {
        WritePng("a.png", TwoByTwo);
        var config = Config("  images: a.png\n");
        var second = new ModelInput("mask", new long[] { 1, 1, 2, 2 }, true);

        var error = Assert.Throws<KnqException>(() => SampleSetLoader.Load(config, config.Calibration, [Nchw3, second]));

        AssertAt(error, CalibrationCodes.InputWithoutSource, 2, 1);
        Assert.Contains("'image'", error.Message);
    }

    [Fact]
    public void MultiInput_OwnSources()
    {
        WritePng("img/a.png", TwoByTwo);
        WritePng("img/b.png", TwoByTwo);
        _folder.WriteBytes("ids/0.npy", NpyFiles.Build("<f4", "(1, 2)", NpyFiles.Float32(5, 6)));
        var config = Config("  images: img/*.png\n", "inputs:\n  ids:\n    tensors: ids/*.npy\n");
        var ids = new ModelInput("ids", new long[] { 1, 2 }, false);

        var set = SampleSetLoader.Load(config, config.Calibration, [Nchw3, ids]);
        var sample = Assert.Single(set.Enumerate());

        Assert.Equal(1, set.Count);
        Assert.Equal(3, set.MatchedFiles.Count);
        Assert.Equal(2, set.UsedFiles.Count);
        Assert.Equal(new float[] { 5, 6 }, sample.Inputs["ids"]);
        Assert.Equal(10f, sample.Inputs["image"][0]);
    }

    [Fact]
    public void NonFloat_NeedsTensors()
    {
        WritePng("a.png", TwoByTwo);
        var config = Config("  images: a.png\n");
        var ids = new ModelInput("ids", new long[] { 1, 3, 2, 2 }, false);

        var error = Assert.Throws<KnqException>(() => SampleSetLoader.Load(config, config.Calibration, [ids]));

        AssertAt(error, CalibrationCodes.NonFloatInputNeedsTensors, 3, 11);
    }

    [Fact]
    public void Evaluation_UsesOwnFiles()
    {
        WritePng("cal/a.png", TwoByTwo);
        WritePng("eval/a.png", TwoByTwo);
        WritePng("eval/b.png", TwoByTwo);
        var config = Config("  images: cal/*.png\n  mean: 10\n", "evaluation:\n  images: eval/*.png\n");

        var set = SampleSetLoader.Load(config, config.Evaluation!, [Nchw3]);
        var first = set.Enumerate().First();

        Assert.Equal(2, set.Count);
        Assert.Equal(_folder.Combine("eval/a.png"), set.UsedFiles[0]);
        Assert.Equal(0f, first.Inputs["image"][0]);
    }
}
