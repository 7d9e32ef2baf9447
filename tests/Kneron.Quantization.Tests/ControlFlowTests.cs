using System.Runtime.InteropServices;
using System.Text.Json;
using Google.Protobuf;
using Kneron.Quantization.Model;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Kneron.Quantization.Tests;

/// <summary>
/// Models with If and Loop nodes whose bodies read tensors of the outer graph:
/// they analyse with a KNQ0214 warning naming the nodes, and the quantized model
/// runs in ONNX Runtime although the outer tensors the bodies read are quantized.
/// </summary>
public sealed class ControlFlowTests : IDisposable
{
    private readonly TestFolder _folder = new();
    private readonly Random _random = new(3);

    public void Dispose() => _folder.Dispose();

    private string ModelPath => _folder.Combine("model.onnx");

    private string Output => _folder.Combine("out");

    private float[] Normal(int count, float scale = 1) =>
        Enumerable.Range(0, count).Select(_ => (float)(_random.NextDouble() * 2 - 1) * scale).ToArray();

    /// <summary>Writes two .npy samples for x [1, 8] and a config; returns the samples.</summary>
    private float[][] WriteSamplesAndConfig()
    {
        var samples = new float[2][];
        for (int i = 0; i < samples.Length; i++)
        {
            samples[i] = Normal(8);
            _folder.WriteBytes($"x/{i}.npy", NpyFiles.Build("<f4", "(1, 8)", MemoryMarshal.AsBytes(samples[i].AsSpan()).ToArray()));
        }

        // y of the If model depends on a comparison, which would move the SNR to another tensor; it is measured on y itself.
        _folder.WriteText("model.quant.yaml", "platform: 720\nsnr_threshold: 10\ncalibration:\n  tensors: x/*.npy\nevaluation:\n  outputs: [y]\n");
        return samples;
    }

    private static ValueInfoProto FloatValue(string name) =>
        new() { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = TensorData.FloatType } } };

    /// <summary>A scalar (rank 0) value of the given type, as Loop's iteration number and condition are.</summary>
    private static ValueInfoProto ScalarValue(string name, TensorProto.Types.DataType type) =>
        new() { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = new TensorShapeProto() } } };

    private static NodeProto Node(string opType, string name, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    private static AttributeProto GraphAttribute(string name, GraphProto graph) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Graph, G = graph };

    /// <summary>
    /// x [1, 8] → MatMul w → m → Relu → r; cond = ReduceSum(m) > 0; If(cond) reads the outer
    /// tensors r (quantized as Relu's output), x (a quantized model input) and the outer
    /// initializer 'scale', which nothing outside the branches uses. Then y = Add(If output, m).
    /// </summary>
    private ModelProto IfModel()
    {
        var thenBranch = new GraphProto { Name = "then_branch" };
        thenBranch.Node.Add(Node("Mul", "then_mul", new[] { "r", "scale" }, new[] { "then_scaled" }));
        thenBranch.Node.Add(Node("Add", "then_add", new[] { "then_scaled", "x" }, new[] { "then_out" }));
        thenBranch.Output.Add(FloatValue("then_out"));

        var elseBranch = new GraphProto { Name = "else_branch" };
        elseBranch.Node.Add(Node("Neg", "else_neg", new[] { "r" }, new[] { "else_out" }));
        elseBranch.Output.Add(FloatValue("else_out"));

        var builder = new OnnxBuilder()
            .Input("x", 1, 8)
            .Initializer("w", new long[] { 8, 8 }, Normal(64))
            .Initializer("scale", new long[] { 1 }, new float[] { 0.5f })
            .Initializer("zero", Array.Empty<long>(), new float[] { 0 })
            .Node("MatMul", new[] { "x", "w" }, new[] { "m" }, "matmul")
            .Node("Relu", new[] { "m" }, new[] { "r" }, "relu")
            .Node("ReduceSum", new[] { "m" }, new[] { "total" }, "total", OnnxBuilder.Int("keepdims", 0))
            .Node("Greater", new[] { "total", "zero" }, new[] { "cond" }, "positive")
            .Node("If", new[] { "cond" }, new[] { "branch_out" }, "branch")
            .Node("Add", new[] { "branch_out", "m" }, new[] { "y" }, "add")
            .Output("y");
        var ifNode = builder.Graph.Node.Single(n => n.OpType == "If");
        ifNode.Attribute.Add(GraphAttribute("then_branch", thenBranch));
        ifNode.Attribute.Add(GraphAttribute("else_branch", elseBranch));
        return builder.Build();
    }

    /// <summary>
    /// x [1, 8] → MatMul w → m → Relu → r; a Loop of 3 iterations adds the outer tensor r to its
    /// carried value, starting from m, and also emits each step as a scan output; y = Loop's result × 0.5.
    /// </summary>
    private ModelProto LoopModel()
    {
        var body = new GraphProto { Name = "body" };
        body.Input.Add(ScalarValue("iteration", TensorProto.Types.DataType.Int64));
        body.Input.Add(ScalarValue("cond_in", TensorProto.Types.DataType.Bool));
        body.Input.Add(FloatValue("carried_in"));
        body.Node.Add(Node("Identity", "keep_going", new[] { "cond_in" }, new[] { "cond_out" }));
        body.Node.Add(Node("Add", "accumulate", new[] { "carried_in", "r" }, new[] { "carried_out" }));
        body.Node.Add(Node("Identity", "emit", new[] { "carried_out" }, new[] { "step" }));
        body.Output.Add(ScalarValue("cond_out", TensorProto.Types.DataType.Bool));
        body.Output.Add(FloatValue("carried_out"));
        body.Output.Add(FloatValue("step"));

        var builder = new OnnxBuilder()
            .Input("x", 1, 8)
            .Initializer("w", new long[] { 8, 8 }, Normal(64))
            .Initializer("half", new long[] { 1 }, new float[] { 0.5f })
            .Int64Initializer("trip_count", 3)
            .Node("MatMul", new[] { "x", "w" }, new[] { "m" }, "matmul")
            .Node("Relu", new[] { "m" }, new[] { "r" }, "relu")
            .Node("Loop", new[] { "trip_count", "", "m" }, new[] { "loop_out", "steps" }, "repeat")
            .Node("Mul", new[] { "loop_out", "half" }, new[] { "y" }, "scale_down")
            .Output("y");
        // Loop's trip count is a scalar.
        builder.Graph.Initializer.Single(t => t.Name == "trip_count").Dims.Clear();
        builder.Graph.Node.Single(n => n.OpType == "Loop").Attribute.Add(GraphAttribute("body", body));
        return builder.Build();
    }

    /// <summary>
    /// x [1, 8] → MatMul w1 → c1; cond = ReduceSum(c1) > 0; If(cond) then Relu(c1) else Sigmoid(c1)
    /// → y1; y = MatMul(y1, w2). Only the If's condition comes from a comparison, so y is a float
    /// signal and not a decision.
    /// </summary>
    private ModelProto IfOnComparisonModel()
    {
        var thenBranch = new GraphProto { Name = "then_branch" };
        thenBranch.Node.Add(Node("Relu", "then_relu", new[] { "c1" }, new[] { "then_out" }));
        thenBranch.Output.Add(FloatValue("then_out"));

        var elseBranch = new GraphProto { Name = "else_branch" };
        elseBranch.Node.Add(Node("Sigmoid", "else_sigmoid", new[] { "c1" }, new[] { "else_out" }));
        elseBranch.Output.Add(FloatValue("else_out"));

        var builder = new OnnxBuilder()
            .Input("x", 1, 8)
            .Initializer("w1", new long[] { 8, 8 }, Normal(64))
            .Initializer("w2", new long[] { 8, 8 }, Normal(64))
            .Initializer("zero", Array.Empty<long>(), new float[] { 0 })
            .Node("MatMul", new[] { "x", "w1" }, new[] { "c1" }, "conv1")
            .Node("ReduceSum", new[] { "c1" }, new[] { "s" }, "total", OnnxBuilder.Int("keepdims", 0))
            .Node("Greater", new[] { "s", "zero" }, new[] { "cond" }, "positive")
            .Node("If", new[] { "cond" }, new[] { "y1" }, "branch")
            .Node("MatMul", new[] { "y1", "w2" }, new[] { "y" }, "conv2")
            .Output("y");
        var ifNode = builder.Graph.Node.Single(n => n.OpType == "If");
        ifNode.Attribute.Add(GraphAttribute("then_branch", thenBranch));
        ifNode.Attribute.Add(GraphAttribute("else_branch", elseBranch));
        return builder.Build();
    }

    /// <summary>
    /// Runs a model file in an ONNX Runtime session and returns output y. With
    /// <paramref name="simulateQuantization"/>, QuantizeLinear/DequantizeLinear pairs are not fused
    /// into integer kernels, as in the analysis; otherwise the session is a default one.
    /// </summary>
    private static float[] Run(string modelPath, float[] sample, bool simulateQuantization = false)
    {
        using var options = new SessionOptions();
        if (simulateQuantization)
        {
            options.AddSessionConfigEntry("session.disable_quant_qdq", "1");
        }

        using var session = new InferenceSession(modelPath, options);
        using var input = OrtValue.CreateTensorValueFromMemory(sample, new long[] { 1, 8 });
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, new[] { "x" }, new[] { input }, new[] { "y" });
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>
    /// Checks the reported SNR of y against one computed here from the float model and
    /// the written quantized model, each run from its file, and returns the table's quantized tensor names.
    /// </summary>
    private IReadOnlyList<string> AssertSnrMatchesIndependentRun(float[][] samples)
    {
        double signal = 0, noise = 0;
        foreach (var sample in samples)
        {
            var reference = Run(ModelPath, sample);
            var quantized = Run(Path.Combine(Output, "model.quant.onnx"), sample, simulateQuantization: true);
            Assert.All(Run(Path.Combine(Output, "model.quant.onnx"), sample), value => Assert.True(float.IsFinite(value)));
            Assert.Equal(reference.Length, quantized.Length);
            for (int i = 0; i < reference.Length; i++)
            {
                signal += (double)reference[i] * reference[i];
                noise += ((double)reference[i] - quantized[i]) * ((double)reference[i] - quantized[i]);
            }
        }

        using var table = JsonDocument.Parse(File.ReadAllText(Path.Combine(Output, "model.quant.json")));
        var reported = table.RootElement.GetProperty("outputs")[0].GetProperty("snr_db").GetDouble();
        Assert.Equal(10 * Math.Log10(signal / noise), reported, 2);
        return table.RootElement.GetProperty("tensors").EnumerateArray().Select(t => t.GetProperty("name").GetString()!).ToList();
    }

    private CliResult Analyze() => CliResult.Run("analyze", ModelPath, "--output", Output);

    [Fact]
    public void IfReadingQuantizedOuterTensorsAnalyses()
    {
        File.WriteAllBytes(ModelPath, IfModel().ToByteArray());
        var samples = WriteSamplesAndConfig();

        var result = Analyze();

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains($"{ModelPath}: warning KNQ0214:", result.Error);
        Assert.Contains("'branch' (If)", result.Error);
        Assert.Contains("(3 nodes)", result.Error);
        Assert.DoesNotContain("error KNQ", result.Error);

        // The outer tensors the branches read are quantized, and the branches read the quantized values.
        var quantized = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(Output, "model.quant.onnx")));
        Assert.Contains(quantized.Graph.Node, n => n.OpType == "DequantizeLinear" && n.Output[0] == "r");
        var inputDequantize = quantized.Graph.Node.Single(n => n.OpType == "DequantizeLinear" && n.Input[0].StartsWith("x_quantized", StringComparison.Ordinal));
        var thenBranch = quantized.Graph.Node.Single(n => n.OpType == "If").Attribute.Single(a => a.Name == "then_branch").G;
        Assert.Contains(inputDequantize.Output[0], thenBranch.Node.Single(n => n.Name == "then_add").Input);
        Assert.Contains(quantized.Graph.Initializer, t => t.Name == "scale");

        var tensors = AssertSnrMatchesIndependentRun(samples);
        Assert.Contains("r", tensors);
        Assert.Contains("branch_out", tensors);
        Assert.DoesNotContain("then_scaled", tensors);
    }

    [Fact]
    public void LoopReadingQuantizedOuterTensorAnalyses()
    {
        File.WriteAllBytes(ModelPath, LoopModel().ToByteArray());
        var samples = WriteSamplesAndConfig();

        var result = Analyze();

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains($"{ModelPath}: warning KNQ0214:", result.Error);
        Assert.Contains("'repeat' (Loop)", result.Error);
        Assert.Contains("(3 nodes)", result.Error);
        Assert.DoesNotContain("error KNQ", result.Error);

        var tensors = AssertSnrMatchesIndependentRun(samples);
        Assert.Contains("r", tensors);
        Assert.Contains("loop_out", tensors);
        Assert.DoesNotContain("carried_out", tensors);
    }

    [Fact]
    public void IfConditionDoesNotMakeDecisionOutput()
    {
        File.WriteAllBytes(ModelPath, IfOnComparisonModel().ToByteArray());
        var samples = WriteSamplesAndConfig();
        // Without evaluation.outputs, so the planner chooses the evaluated tensor.
        _folder.WriteText("model.quant.yaml", "platform: 720\nsnr_threshold: 10\ncalibration:\n  tensors: x/*.npy\n");

        var result = Analyze();

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.DoesNotContain("KNQ0404", result.Error);
        Assert.DoesNotContain("measured on", result.Output);
        using (var table = JsonDocument.Parse(File.ReadAllText(Path.Combine(Output, "model.quant.json"))))
        {
            var output = table.RootElement.GetProperty("outputs")[0];
            Assert.Equal("y", output.GetProperty("name").GetString());
            Assert.Equal("y", output.GetProperty("evaluated_tensor").GetString());
        }

        AssertSnrMatchesIndependentRun(samples);
    }

    [Fact]
    public void DecisionOutputLineNamesMeasuredTensor()
    {
        // y = Greater(MatMul(x, w), 0) is a decision, so its SNR is measured on the MatMul's output m.
        new OnnxBuilder()
            .Input("x", 1, 8)
            .Initializer("w", new long[] { 8, 8 }, Normal(64))
            .Initializer("zero", Array.Empty<long>(), new float[] { 0 })
            .Node("MatMul", new[] { "x", "w" }, new[] { "m" }, "matmul")
            .Node("Greater", new[] { "m", "zero" }, new[] { "y" }, "positive")
            .Output("y", (int)TensorProto.Types.DataType.Bool)
            .Save(ModelPath);
        WriteSamplesAndConfig();
        _folder.WriteText("model.quant.yaml", "platform: 720\nsnr_threshold: 10\ncalibration:\n  tensors: x/*.npy\n");

        var result = Analyze();

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("warning KNQ0404: Output 'y'", result.Error);
        Assert.Matches(@"SNR y [0-9.]+ dB \(measured on m\);", result.Output);
    }

    [Fact]
    public void ModelWithoutControlFlowHasNoWarning()
    {
        new OnnxBuilder()
            .Input("x", 1, 8)
            .Initializer("w", new long[] { 8, 8 }, Normal(64))
            .Node("MatMul", new[] { "x", "w" }, new[] { "y" }, "matmul")
            .Output("y")
            .Save(ModelPath);
        WriteSamplesAndConfig();

        var result = Analyze();

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.DoesNotContain("KNQ0214", result.Error);
    }
}
