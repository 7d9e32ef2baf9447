using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace Kneron.Quantization.Tests;

/// <summary>
/// Runs the CLI on the four real test models in int8 and int16 (all five
/// bit-width keys) and checks the artifacts and the SNR gap. An int16 run
/// has 256 times finer steps than an int8 run, about 48 dB less noise, so a
/// gap under 20 dB on any output would point at a simulation fault.
/// </summary>
public sealed class RealModelTests
{
    [Theory]
    [InlineData("blazeface_front")]
    [InlineData("mlsd_tiny")]
    [InlineData("ppocr_det")]
    [InlineData("ppocr_cls")]
    public void Int16BeatsInt8ByTwentyDb(string name)
    {
        using var folder = new TestFolder();
        var int8 = Analyze(name, "int8", folder.Combine("int8"));
        var int16 = Analyze(name, "int16", folder.Combine("int16"));

        foreach (var (output, snr8) in int8)
        {
            var snr16 = int16[output];
            Assert.True(snr16 - snr8 >= 20, $"{name} output '{output}': int16 {snr16:0.00} dB, int8 {snr8:0.00} dB");
        }
    }

    [Fact]
    public void Int4WeightsOnKl730()
    {
        using var folder = new TestFolder();
        var model = TestModels.ModelPath("ppocr_cls");
        var common = new[] { "--config", TestModels.ConfigPath("ppocr_cls"), "--set", "platform=730", "--set", "on_low_snr=warning" };
        var int4 = CliResult.Run(new[] { "analyze", model, "--output", folder.Combine("int4"), "--set", "weight_bitwidth_mode=int4" }.Concat(common).ToArray());
        var int8 = CliResult.Run(new[] { "analyze", model, "--output", folder.Combine("int8") }.Concat(common).ToArray());
        Assert.True(int4.ExitCode == 0, int4.Error);
        Assert.True(int8.ExitCode == 0, int8.Error);

        RunQuantizedModel(folder.Combine("int4/ppocr_cls.quant.onnx"));
        using var json4 = JsonDocument.Parse(File.ReadAllText(folder.Combine("int4/ppocr_cls.quant.json")));
        using var json8 = JsonDocument.Parse(File.ReadAllText(folder.Combine("int8/ppocr_cls.quant.json")));
        var weights = json4.RootElement.GetProperty("tensors").EnumerateArray().Where(t => t.GetProperty("kind").GetString() == "weight").ToList();
        Assert.NotEmpty(weights);
        Assert.All(weights, w => Assert.Equal(4, w.GetProperty("bitwidth").GetInt32()));

        // On this model, int4 weights add noise over int8 weights.
        Assert.True(json4.RootElement.GetProperty("snr_db").GetDouble() < json8.RootElement.GetProperty("snr_db").GetDouble());
    }

    /// <summary>Analyses one model and returns its SNR per output; checks the artifacts on the way.</summary>
    private static Dictionary<string, double> Analyze(string name, string width, string output)
    {
        var model = TestModels.ModelPath(name);
        var result = CliResult.Run("analyze", model, "--config", TestModels.ConfigPath(name), "--output", output,
            "--set", $"datapath_bitwidth_mode={width}", "--set", $"weight_bitwidth_mode={width}",
            "--set", $"model_in_bitwidth_mode={width}", "--set", $"model_out_bitwidth_mode={width}",
            "--set", $"cpu_node_bitwidth_mode={width}", "--set", "on_low_snr=warning");

        Assert.True(result.ExitCode == 0, result.Error);
        foreach (var suffix in new[] { ".quant.onnx", ".quant.json", ".report.html", ".deps" })
        {
            Assert.True(File.Exists(Path.Combine(output, name + suffix)), $"{name}{suffix} was not written");
        }

        RunQuantizedModel(Path.Combine(output, name + ".quant.onnx"));

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, name + ".quant.json")));
        return json.RootElement.GetProperty("outputs").EnumerateArray()
            .ToDictionary(o => o.GetProperty("name").GetString()!, o => o.GetProperty("snr_db").ValueKind == JsonValueKind.Null ? double.PositiveInfinity : o.GetProperty("snr_db").GetDouble());
    }

    /// <summary>Loads the QDQ model in a default ONNX Runtime session (QDQ fusion on) and runs it once on a ramp input.</summary>
    private static void RunQuantizedModel(string path)
    {
        using var session = new InferenceSession(path);
        var input = session.InputMetadata.Single();
        var shape = input.Value.Dimensions.Select(d => (long)d).ToArray();
        Assert.All(shape, d => Assert.True(d > 0, $"{path} still has a dynamic input dimension"));

        var data = new float[shape.Aggregate(1L, (a, b) => a * b)];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (i % 255) / 255f;
        }

        using var value = OrtValue.CreateTensorValueFromMemory(data, shape);
        using var results = session.Run(new RunOptions(), new[] { input.Key }, new[] { value }, session.OutputNames);
        Assert.All(results, r => Assert.True(r.GetTensorDataAsSpan<float>().ToArray().All(float.IsFinite)));
    }
}
