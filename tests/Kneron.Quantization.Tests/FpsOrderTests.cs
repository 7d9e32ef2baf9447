using System.Text.Json;
using Kneron.Quantization.Config;
using Kneron.Quantization.Model;
using Kneron.Quantization.Performance;
using Kneron.Quantization.Planning;

namespace Kneron.Quantization.Tests;

/// <summary>
/// Checks that the FPS estimate follows the bit widths a mode stores: the
/// manual's order int8 > mix light > mixbw > int16 on real models, and the
/// DRAM bytes of a small graph counted by hand.
/// </summary>
public sealed class FpsOrderTests
{
    [Theory]
    [InlineData("blazeface_front")]
    [InlineData("ppocr_cls")]
    public void SweepOrdersFpsAsManual(string name)
    {
        using var folder = new TestFolder();
        var result = CliResult.Run("sweep", TestModels.ModelPath(name), "--config", TestModels.ConfigPath(name),
            "--output", folder.Path, "--set", "on_low_snr=warning");
        Assert.True(result.ExitCode is 0 or 1, result.Error);

        using var json = JsonDocument.Parse(File.ReadAllText(folder.Combine(name + ".quant.json")));
        var fps = json.RootElement.GetProperty("modes_tried").EnumerateArray()
            .ToDictionary(m => m.GetProperty("datapath_bitwidth_mode").GetString()!, m => m.GetProperty("fps").GetDouble());

        Assert.True(fps["int8"] > fps["mix light"], $"{name}: int8 {fps["int8"]:0} FPS, mix light {fps["mix light"]:0} FPS");
        Assert.True(fps["mix light"] > fps["mixbw"], $"{name}: mix light {fps["mix light"]:0} FPS, mixbw {fps["mixbw"]:0} FPS");
        Assert.True(fps["mixbw"] > fps["int16"], $"{name}: mixbw {fps["mixbw"]:0} FPS, int16 {fps["int16"]:0} FPS");
    }

    /// <summary>
    /// x (1×2×4×4) → conv1 → c → conv2 → y, each Conv with 2×2×1×1 weights, no
    /// on-chip buffer. Tensors have 32 elements and weights 4, so in int16
    /// conv1 moves 2 × 32 + 2 × 32 + 2 × 4 = 136 bytes. With conv1 alone at
    /// 8 bits it moves x at 16 bits (64), c at 8 (32) and its weights at 8
    /// (4): 100 bytes. conv2 then reads c at 8 bits: 32 + 64 + 8 = 104 bytes.
    /// </summary>
    [Fact]
    public void ConvAtEightBitsMovesFewerBytes()
    {
        var builder = new OnnxBuilder()
            .Input("x", 1, 2, 4, 4)
            .Initializer("w1", new long[] { 2, 2, 1, 1 }, new[] { 1f, 2f, 3f, 4f })
            .Initializer("w2", new long[] { 2, 2, 1, 1 }, new[] { 1f, -2f, 3f, -4f })
            .Node("Conv", new[] { "x", "w1" }, new[] { "c" }, "conv1")
            .Node("Conv", new[] { "c", "w2" }, new[] { "y" }, "conv2")
            .Output("y");
        var graph = new OnnxGraph(builder.Build(), "test.onnx");
        var shapes = new TensorShapes(new Dictionary<string, long[]>
        {
            ["x"] = new long[] { 1, 2, 4, 4 }, ["c"] = new long[] { 1, 2, 4, 4 }, ["y"] = new long[] { 1, 2, 4, 4 },
            ["w1"] = new long[] { 2, 2, 1, 1 }, ["w2"] = new long[] { 2, 2, 1, 1 },
        });
        var planner = new QuantPlanner(graph, new HashSet<string> { "x", "c", "y", "w1", "w2" }, Platform.KL720);

        var int16 = planner.Plan(BitwidthSettings.Uniform(BitWidth.Int16));
        var mixed = planner.Plan(BitwidthSettings.Uniform(BitWidth.Int16) with
        {
            NodeDatapath = new Dictionary<string, BitWidth> { ["conv1"] = BitWidth.Int8 },
            NodeWeight = new Dictionary<string, BitWidth> { ["conv1"] = BitWidth.Int8 },
        });
        var work16 = LayerWork.Of(graph, shapes, int16, onChipBufferBytes: 0).ToDictionary(w => w.Node);
        var workMixed = LayerWork.Of(graph, shapes, mixed, onChipBufferBytes: 0).ToDictionary(w => w.Node);

        Assert.Equal(136, work16["conv1"].DramBytes);
        Assert.Equal(100, workMixed["conv1"].DramBytes);
        Assert.Equal(104, workMixed["conv2"].DramBytes);
        Assert.Equal(8, workMixed["conv2"].OperandBits);
        Assert.Equal(16, workMixed["conv2"].WeightBits);

        var parameters = PlatformParameters.For(Platform.KL720);
        Assert.True(FpsEstimator.Fps(workMixed.Values.ToList(), parameters) > FpsEstimator.Fps(work16.Values.ToList(), parameters));
    }
}
