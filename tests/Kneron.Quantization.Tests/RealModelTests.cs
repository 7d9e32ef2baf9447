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
