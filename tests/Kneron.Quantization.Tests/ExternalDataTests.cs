using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Kneron.Quantization.Tests;

/// <summary>
/// Models that keep their initializers in external data files: analysed as the
/// same model stored inline, the quantized model written with its own data
/// file, and broken or unsafe references rejected with coded errors.
/// </summary>
public sealed class ExternalDataTests : IDisposable
{
    private const int SampleCount = 3;

    private readonly TestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>
    /// x [1, 3, 8, 8] → Conv 3×3 (64 channels) → Relu → Conv 1×1 (8 channels) → y. The first
    /// Conv's weights take 1728 bytes in int8, enough for the quantized model to keep them external.
    /// </summary>
    private static ModelProto TwoConvModel()
    {
        var random = new Random(11);
        float[] Values(int count, float scale) => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();

        return new OnnxBuilder()
            .Input("x", 1, 3, 8, 8)
            .Initializer("w1", new long[] { 64, 3, 3, 3 }, Values(64 * 3 * 3 * 3, 0.5f))
            .Initializer("b1", new long[] { 64 }, Values(64, 0.1f))
            .Initializer("w2", new long[] { 8, 64, 1, 1 }, Values(8 * 64, 0.25f))
            .Node("Conv", new[] { "x", "w1", "b1" }, new[] { "c1" }, "conv1", OnnxBuilder.Ints("pads", 1, 1, 1, 1))
            .Node("Relu", new[] { "c1" }, new[] { "r1" }, "relu1")
            .Node("Conv", new[] { "r1", "w2" }, new[] { "y" }, "conv2")
            .Output("y")
            .Build();
    }

    /// <summary>
    /// Writes <paramref name="model"/> to <c>folder/model.onnx</c> with every initializer's
    /// bytes in <c>folder/<paramref name="location"/></c>, one after another, each with its
    /// location, offset and length. Written here, not with the product's writer, so the
    /// test checks the reader against an independent writer.
    /// </summary>
    private string SaveExternal(ModelProto model, string folder, string location = "weights.bin")
    {
        var copy = model.Clone();
        Directory.CreateDirectory(_folder.Combine(folder));
        using (var data = File.Create(_folder.Combine(Path.Combine(folder, location))))
        {
            foreach (var tensor in copy.Graph.Initializer)
            {
                var offset = data.Position;
                tensor.RawData.WriteTo(data);
                tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
                tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString() });
                tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = tensor.RawData.Length.ToString() });
                tensor.RawData = ByteString.Empty;
                tensor.DataLocation = TensorProto.Types.DataLocation.External;
            }
        }

        var path = _folder.Combine(Path.Combine(folder, "model.onnx"));
        File.WriteAllBytes(path, copy.ToByteArray());
        return path;
    }

    /// <summary>Writes the samples and a config for x [1, 3, 8, 8] into <paramref name="folder"/>; returns the samples.</summary>
    private float[][] WriteSamplesAndConfig(string folder)
    {
        var random = new Random(5);
        var samples = new float[SampleCount][];
        for (int i = 0; i < SampleCount; i++)
        {
            samples[i] = Enumerable.Range(0, 3 * 8 * 8).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            _folder.WriteBytes($"{folder}/x/{i}.npy", NpyFiles.Build("<f4", "(1, 3, 8, 8)", MemoryMarshal.AsBytes(samples[i].AsSpan()).ToArray()));
        }

        _folder.WriteText($"{folder}/model.quant.yaml", "platform: 720\ndatapath_range_method: minmax\ncalibration:\n  tensors: x/*.npy\n");
        return samples;
    }

    private CliResult Analyze(string folder) =>
        CliResult.Run("analyze", _folder.Combine($"{folder}/model.onnx"), "--output", _folder.Combine($"{folder}/out"));

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static double ReportedSnrDb(string tablePath)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(tablePath));
        return json.RootElement.GetProperty("outputs")[0].GetProperty("snr_db").GetDouble();
    }

    /// <summary>Runs a model file in a default ONNX Runtime session, which resolves external data itself, and returns output y.</summary>
    private static float[] RunFromFile(string modelPath, float[] sample)
    {
        using var session = new InferenceSession(modelPath);
        using var input = OrtValue.CreateTensorValueFromMemory(sample, new long[] { 1, 3, 8, 8 });
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, new[] { "x" }, new[] { input }, new[] { "y" });
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [Fact]
    public void ExternalModelMatchesInlineModel()
    {
        var model = TwoConvModel();
        Directory.CreateDirectory(_folder.Combine("inline"));
        File.WriteAllBytes(_folder.Combine("inline/model.onnx"), model.ToByteArray());
        WriteSamplesAndConfig("inline");
        var externalModel = SaveExternal(model, "external");
        var samples = WriteSamplesAndConfig("external");
        var dataFile = _folder.Combine("external/weights.bin");
        var modelHash = Sha256(externalModel);
        var dataHash = Sha256(dataFile);

        var inline = Analyze("inline");
        var external = Analyze("external");

        Assert.True(inline.ExitCode == 0, inline.Error);
        Assert.True(external.ExitCode == 0, external.Error);
        var inlineSnr = ReportedSnrDb(_folder.Combine("inline/out/model.quant.json"));
        var externalSnr = ReportedSnrDb(_folder.Combine("external/out/model.quant.json"));
        Assert.Equal(inlineSnr, externalSnr, 6);

        // The source model and its data file are only read.
        Assert.Equal(modelHash, Sha256(externalModel));
        Assert.Equal(dataHash, Sha256(dataFile));

        // Inline source: one file, as before. External source: the quantized weights go to a data file beside the model.
        Assert.False(File.Exists(_folder.Combine("inline/out/model.quant.onnx.data")));
        var quantized = _folder.Combine("external/out/model.quant.onnx");
        Assert.True(File.Exists(quantized + ".data"));
        var written = ModelProto.Parser.ParseFrom(File.ReadAllBytes(quantized));
        var externalTensors = written.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External).ToList();
        Assert.NotEmpty(externalTensors);
        Assert.All(externalTensors, t => Assert.Equal("model.quant.onnx.data", t.ExternalData.Single(e => e.Key == "location").Value));

        // Independent SNR: ONNX Runtime reads the source's and the output's external data itself.
        double signal = 0, noise = 0;
        foreach (var sample in samples)
        {
            var reference = RunFromFile(externalModel, sample);
            var result = RunFromFile(quantized, sample);
            Assert.Equal(reference.Length, result.Length);
            for (int i = 0; i < reference.Length; i++)
            {
                signal += (double)reference[i] * reference[i];
                noise += ((double)reference[i] - result[i]) * ((double)reference[i] - result[i]);
            }
        }

        Assert.Equal(10 * Math.Log10(signal / noise), externalSnr, 2);

        // The data file is an input of the build: the .deps list names it.
        var deps = File.ReadAllLines(_folder.Combine("external/out/model.deps"));
        Assert.Contains(dataFile, deps);
    }

    [Fact]
    public void InlineRunRemovesStaleDataFile()
    {
        SaveExternal(TwoConvModel(), "m");
        WriteSamplesAndConfig("m");
        Assert.Equal(0, Analyze("m").ExitCode);
        Assert.True(File.Exists(_folder.Combine("m/out/model.quant.onnx.data")));

        File.WriteAllBytes(_folder.Combine("m/model.onnx"), TwoConvModel().ToByteArray());
        var result = Analyze("m");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.False(File.Exists(_folder.Combine("m/out/model.quant.onnx.data")));
    }

    /// <summary>
    /// The same model, data file, config and samples under another model name: the
    /// written model must refer to its own data file, <c>other.quant.onnx.data</c>,
    /// not to the name the first run wrote into the cached model.
    /// </summary>
    [Fact]
    public void CacheHitForRenamedModel()
    {
        SaveExternal(TwoConvModel(), "m");
        var samples = WriteSamplesAndConfig("m");
        var cache = _folder.Combine("cache");
        var first = CliResult.Run("analyze", _folder.Combine("m/model.onnx"), "--output", _folder.Combine("m/out"), "--cache-dir", cache);
        Assert.True(first.ExitCode == 0, first.Error);

        Directory.CreateDirectory(_folder.Combine("n/x"));
        File.Copy(_folder.Combine("m/model.onnx"), _folder.Combine("n/other.onnx"));
        File.Copy(_folder.Combine("m/model.quant.yaml"), _folder.Combine("n/other.quant.yaml"));
        File.Copy(_folder.Combine("m/weights.bin"), _folder.Combine("n/weights.bin"));
        foreach (var sample in Directory.GetFiles(_folder.Combine("m/x")))
        {
            File.Copy(sample, _folder.Combine("n/x/" + Path.GetFileName(sample)));
        }

        var second = CliResult.Run("analyze", _folder.Combine("n/other.onnx"), "--output", _folder.Combine("n/out"), "--cache-dir", cache);

        Assert.True(second.ExitCode == 0, second.Error);
        var quantized = _folder.Combine("n/out/other.quant.onnx");
        Assert.True(File.Exists(quantized + ".data"));
        var written = ModelProto.Parser.ParseFrom(File.ReadAllBytes(quantized));
        var externalTensors = written.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External).ToList();
        Assert.NotEmpty(externalTensors);
        Assert.All(externalTensors, t => Assert.Equal("other.quant.onnx.data", t.ExternalData.Single(e => e.Key == "location").Value));
        Assert.Equal(RunFromFile(_folder.Combine("m/out/model.quant.onnx"), samples[0]), RunFromFile(quantized, samples[0]));
    }

    [Fact]
    public void MissingDataFileIsCodedError()
    {
        var modelPath = SaveExternal(TwoConvModel(), "m");
        WriteSamplesAndConfig("m");
        File.Delete(_folder.Combine("m/weights.bin"));

        var result = Analyze("m");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{modelPath}: error KNQ0208:", result.Error);
        Assert.Contains("'weights.bin'", result.Error);
        Assert.Contains("'w1'", result.Error);
        Assert.False(File.Exists(_folder.Combine("m/out/model.quant.onnx")));
    }

    [Theory]
    [InlineData("../escape.bin")]
    [InlineData("sub/../../escape.bin")]
    [InlineData("/etc/hostname")]
    public void LocationOutsideModelFolderIsCodedError(string location)
    {
        var modelPath = SaveExternal(TwoConvModel(), "m");
        WriteSamplesAndConfig("m");
        // The escaping file exists, so only the location check can reject it.
        File.Copy(_folder.Combine("m/weights.bin"), _folder.Combine("escape.bin"));
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
        foreach (var tensor in model.Graph.Initializer)
        {
            tensor.ExternalData.Single(e => e.Key == "location").Value = location;
        }

        File.WriteAllBytes(modelPath, model.ToByteArray());

        var result = Analyze("m");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{modelPath}: error KNQ0212:", result.Error);
        Assert.Contains($"'{location}'", result.Error);
    }

    /// <summary>
    /// A data file, or a folder on the way to it, that is a symbolic link out of the
    /// model's folder: the location is a plain relative path, so only resolving the
    /// links can reject it.
    /// </summary>
    [Theory]
    [InlineData("weights.bin", "weights.bin")]
    [InlineData("linked/weights.bin", "linked")]
    public void SymbolicLinkOutOfModelFolderIsCodedError(string location, string link)
    {
        var modelPath = SaveExternal(TwoConvModel(), "m", location == "weights.bin" ? location : "real.bin");
        WriteSamplesAndConfig("m");
        Directory.CreateDirectory(_folder.Combine("elsewhere"));
        File.Move(_folder.Combine(location == "weights.bin" ? "m/weights.bin" : "m/real.bin"), _folder.Combine("elsewhere/weights.bin"));
        if (link == "linked")
        {
            Directory.CreateSymbolicLink(_folder.Combine("m/linked"), "../elsewhere");
            var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
            foreach (var tensor in model.Graph.Initializer)
            {
                tensor.ExternalData.Single(e => e.Key == "location").Value = location;
            }

            File.WriteAllBytes(modelPath, model.ToByteArray());
        }
        else
        {
            File.CreateSymbolicLink(_folder.Combine("m/weights.bin"), "../elsewhere/weights.bin");
        }

        var result = Analyze("m");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{modelPath}: error KNQ0212:", result.Error);
        Assert.Contains($"'{location}'", result.Error);
        Assert.Contains("symbolic link", result.Error);
        Assert.False(File.Exists(_folder.Combine("m/out/model.quant.onnx")));
    }

    /// <summary>
    /// The layout of the Hugging Face hub cache: the model and its data file are links
    /// from a snapshot folder to files in one blob folder, so the data file is beside
    /// the model's real file and is read.
    /// </summary>
    [Fact]
    public void LinksIntoModelsRealFolderAreRead()
    {
        SaveExternal(TwoConvModel(), "blobs");
        WriteSamplesAndConfig("snapshot");
        File.CreateSymbolicLink(_folder.Combine("snapshot/model.onnx"), "../blobs/model.onnx");
        File.CreateSymbolicLink(_folder.Combine("snapshot/weights.bin"), "../blobs/weights.bin");

        var result = Analyze("snapshot");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.True(File.Exists(_folder.Combine("snapshot/out/model.quant.onnx.data")));
    }

    [Fact]
    public void TruncatedDataFileIsCodedError()
    {
        var modelPath = SaveExternal(TwoConvModel(), "m");
        WriteSamplesAndConfig("m");
        var dataFile = _folder.Combine("m/weights.bin");
        var bytes = File.ReadAllBytes(dataFile);
        File.WriteAllBytes(dataFile, bytes[..(bytes.Length - 100)]);

        var result = Analyze("m");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{modelPath}: error KNQ0213:", result.Error);
        Assert.Contains("'weights.bin'", result.Error);
        Assert.Contains($"only {bytes.Length - 100} bytes", result.Error);
    }

    [Fact]
    public void LengthNotMatchingShapeIsCodedError()
    {
        var modelPath = SaveExternal(TwoConvModel(), "m");
        WriteSamplesAndConfig("m");
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
        var w1 = model.Graph.Initializer.Single(t => t.Name == "w1");
        w1.ExternalData.Single(e => e.Key == "length").Value = "1000";
        File.WriteAllBytes(modelPath, model.ToByteArray());

        var result = Analyze("m");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{modelPath}: error KNQ0213:", result.Error);
        Assert.Contains("'w1'", result.Error);
        Assert.Contains("needs 6912 bytes", result.Error);
    }
}
