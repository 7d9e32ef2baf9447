using Google.Protobuf;
using Kneron.Quantization.Model;
using Onnx;

namespace Kneron.Quantization.Tests;

/// <summary>
/// Unusual but possible models and data: each is analysed or ends with a
/// coded error at a stated location, never with an internal error (exit 3).
/// </summary>
public sealed class HostileInputTests : IDisposable
{
    private readonly TestFolder _folder = new();
    private readonly Random _random = new(7);

    public void Dispose() => _folder.Dispose();

    private string ModelPath => _folder.Combine("model.onnx");

    private string ConfigPath => _folder.Combine("model.quant.yaml");

    private string Output => _folder.Combine("out");

    /// <summary>Writes two .npy samples of the given values into folder <paramref name="name"/>.</summary>
    private void WriteSamples(string name, long[] shape, Func<int, float[]> values)
    {
        var shapeText = "(" + string.Join(", ", shape) + (shape.Length == 1 ? ",)" : ")");
        for (int i = 0; i < 2; i++)
        {
            _folder.WriteBytes($"{name}/{i}.npy", NpyFiles.Build("<f4", shapeText, NpyFiles.Float32(values(i))));
        }
    }

    private float[] Normal(long count) =>
        Enumerable.Range(0, (int)count).Select(_ => (float)(_random.NextDouble() * 2 - 1)).ToArray();

    private void WriteNormalSamples(string name, params long[] shape) =>
        WriteSamples(name, shape, _ => Normal(shape.Aggregate(1L, (a, b) => a * b)));

    private void WriteConfig(string extra = "") =>
        _folder.WriteText("model.quant.yaml", "platform: 720\ncalibration:\n  tensors: x/*.npy\n" + extra);

    private CliResult Analyze() => CliResult.Run("analyze", ModelPath, "--config", ConfigPath, "--output", Output);

    private static void AssertAnalysed(CliResult result)
    {
        Assert.True(result.ExitCode == 0, $"exit code {result.ExitCode}; errors:\n{result.Error}");
        Assert.DoesNotContain("error KNQ", result.Error);
    }

    private float[] Weights(int count, float scale = 1) => Normal(count).Select(v => v * scale).ToArray();

    /// <summary>x [1, 3, 8, 8] → Conv 3×3 (4 channels, padded) → tensor <paramref name="output"/>.</summary>
    private OnnxBuilder ConvModel(string output = "y")
    {
        return new OnnxBuilder()
            .Input("x", 1, 3, 8, 8)
            .Initializer("w", new long[] { 4, 3, 3, 3 }, Weights(4 * 3 * 3 * 3))
            .Initializer("b", new long[] { 4 }, Weights(4))
            .Node("Conv", new[] { "x", "w", "b" }, new[] { output }, "conv", OnnxBuilder.Ints("pads", 1, 1, 1, 1));
    }

    [Fact]
    public void CustomDomainOperatorIsCodedError()
    {
        var builder = ConvModel("c").Node("Swizzle", new[] { "c" }, new[] { "y" }, "swizzle").Output("y");
        builder.Graph.Node.Last().Domain = "com.example.vision";
        var model = builder.Build();
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.example.vision", Version = 1 });
        File.WriteAllBytes(ModelPath, model.ToByteArray());
        WriteNormalSamples("x", 1, 3, 8, 8);
        WriteConfig();

        var result = Analyze();

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{ModelPath}: error KNQ0209:", result.Error);
        Assert.Contains("'swizzle'", result.Error);
        Assert.Contains("com.example.vision", result.Error);
    }

    [Fact]
    public void DuplicateAndEmptyNodeNamesAnalyse()
    {
        ConvModel("c")
            .Node("Relu", new[] { "c" }, new[] { "r" }, "conv")
            .Initializer("w2", new long[] { 2, 4, 1, 1 }, Weights(8))
            .Node("Conv", new[] { "r", "w2" }, new[] { "y" }, "")
            .Output("y")
            .Save(ModelPath);
        WriteNormalSamples("x", 1, 3, 8, 8);
        WriteConfig();

        var result = Analyze();

        AssertAnalysed(result);
        Assert.Contains($"{ModelPath}: warning KNQ0210:", result.Error);
        Assert.Contains("'conv'", result.Error);
        var table = File.ReadAllText(Path.Combine(Output, "model.quant.json"));
        Assert.Contains("\"conv_2\"", table);
    }

    [Fact]
    public void SharedInitializerOfTwoConvsAnalyses()
    {
        ConvModel("a")
            .Node("Conv", new[] { "x", "w", "b" }, new[] { "c" }, "conv_again", OnnxBuilder.Ints("pads", 1, 1, 1, 1))
            .Node("Relu", new[] { "c" }, new[] { "r" }, "relu")
            .Node("Add", new[] { "a", "r" }, new[] { "y" }, "add")
            .Output("y")
            .Save(ModelPath);
        WriteNormalSamples("x", 1, 3, 8, 8);
        WriteConfig();

        var result = Analyze();

        AssertAnalysed(result);
        Assert.True(File.Exists(Path.Combine(Output, "model.quant.onnx")));
    }

    [Fact]
    public void SeveralInputsAndOutputsAnalyse()
    {
        new OnnxBuilder()
            .Input("x", 1, 8)
            .Input("z", 1, 8)
            .Initializer("w", new long[] { 8, 4 }, Weights(32))
            .Node("MatMul", new[] { "x", "w" }, new[] { "m" }, "matmul")
            .Node("Add", new[] { "x", "z" }, new[] { "sum" }, "add")
            .Node("Sigmoid", new[] { "m" }, new[] { "score" }, "sigmoid")
            .Output("sum")
            .Output("score")
            .Save(ModelPath);
        WriteNormalSamples("x", 1, 8);
        WriteNormalSamples("z", 1, 8);
        WriteConfig("inputs:\n  x:\n    tensors: x/*.npy\n  z:\n    tensors: z/*.npy\n");

        var result = Analyze();

        AssertAnalysed(result);
        Assert.Contains("sum ", result.Output);
        Assert.Contains("score ", result.Output);
    }

    [Fact]
    public void Opset7ModelAnalyses()
    {
        var model = ConvModel("c")
            .Node("Relu", new[] { "c" }, new[] { "y" }, "relu")
            .Output("y")
            .Build();
        model.IrVersion = 3;
        model.OpsetImport.Clear();
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 7 });
        File.WriteAllBytes(ModelPath, model.ToByteArray());
        WriteNormalSamples("x", 1, 3, 8, 8);
        WriteConfig();

        var result = Analyze();

        AssertAnalysed(result);
        Assert.True(File.Exists(Path.Combine(Output, "model.quant.onnx")));
    }

    [Fact]
    public void NaNOutputIsCodedErrorAtSample()
    {
        // Log of negative values is NaN in the float model.
        ConvModel("c").Node("Log", new[] { "c" }, new[] { "y" }, "log").Output("y").Save(ModelPath);
        WriteNormalSamples("x", 1, 3, 8, 8);
        WriteConfig();

        var result = Analyze();

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{_folder.Combine("x/0.npy")}: error KNQ0402:", result.Error);
        Assert.Contains("'y'", result.Error);
    }

    [Fact]
    public void InfiniteOutputIsCodedErrorAtSample()
    {
        // Division by a zero constant is ±Inf in the float model.
        ConvModel("c")
            .Initializer("zero", new long[] { 1 }, new float[] { 0 })
            .Node("Div", new[] { "c", "zero" }, new[] { "y" }, "div")
            .Output("y")
            .Save(ModelPath);
        WriteNormalSamples("x", 1, 3, 8, 8);
        WriteConfig();

        var result = Analyze();

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{_folder.Combine("x/0.npy")}: error KNQ0402:", result.Error);
    }

    [Fact]
    public void AllZeroOutputIsCodedErrorAtConfig()
    {
        ConvModel("c")
            .Initializer("zero", new long[] { 1 }, new float[] { 0 })
            .Node("Mul", new[] { "c", "zero" }, new[] { "y" }, "mul")
            .Output("y")
            .Save(ModelPath);
        WriteNormalSamples("x", 1, 3, 8, 8);
        WriteConfig();

        var result = Analyze();

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{ConfigPath}(1,1): error KNQ0401:", result.Error);
        Assert.Contains("'y'", result.Error);
    }

    [Fact]
    public void ConcatOfDistantRangesWarns()
    {
        // Two branches of the same input, one scaled 1000× above the other.
        new OnnxBuilder()
            .Input("x", 1, 8)
            .Initializer("small", new long[] { 8, 4 }, Weights(32, 0.01f))
            .Initializer("large", new long[] { 8, 4 }, Weights(32, 10f))
            .Node("MatMul", new[] { "x", "small" }, new[] { "a" }, "matmul_small")
            .Node("MatMul", new[] { "x", "large" }, new[] { "b" }, "matmul_large")
            .Node("Concat", new[] { "a", "b" }, new[] { "y" }, "joined", OnnxBuilder.Int("axis", 1))
            .Output("y")
            .Save(ModelPath);
        WriteNormalSamples("x", 1, 8);
        WriteConfig();

        var result = Analyze();

        AssertAnalysed(result);
        Assert.Contains($"{ModelPath}: warning KNQ0406:", result.Error);
        Assert.Contains("'joined'", result.Error);
        Assert.Contains("'a'", result.Error);
    }

    [Fact]
    public void ConcatOfCloseRangesDoesNotWarn()
    {
        new OnnxBuilder()
            .Input("x", 1, 8)
            .Initializer("w1", new long[] { 8, 4 }, Weights(32))
            .Initializer("w2", new long[] { 8, 4 }, Weights(32, 3f))
            .Node("MatMul", new[] { "x", "w1" }, new[] { "a" }, "matmul_1")
            .Node("MatMul", new[] { "x", "w2" }, new[] { "b" }, "matmul_2")
            .Node("Concat", new[] { "a", "b" }, new[] { "y" }, "joined", OnnxBuilder.Int("axis", 1))
            .Output("y")
            .Save(ModelPath);
        WriteNormalSamples("x", 1, 8);
        WriteConfig();

        var result = Analyze();

        AssertAnalysed(result);
        Assert.DoesNotContain("KNQ0406", result.Error);
    }

    [Fact]
    public void ConstantOutputBesideComputedOneAnalyses()
    {
        ConvModel("y")
            .Initializer("c1", new long[] { 2 }, new float[] { 1, 2 })
            .Initializer("c2", new long[] { 2 }, new float[] { 3, 4 })
            .Node("Add", new[] { "c1", "c2" }, new[] { "constant" }, "add_constants")
            .Output("y")
            .Output("constant")
            .Save(ModelPath);
        WriteNormalSamples("x", 1, 3, 8, 8);
        WriteConfig();

        var result = Analyze();

        AssertAnalysed(result);
        Assert.Contains("constant ", result.Output);
    }

    [Fact]
    public void OnlyConstantOutputIsCodedError()
    {
        // The input feeds nothing that reaches the output, so no tensor depends on it.
        new OnnxBuilder()
            .Input("x", 1, 4)
            .Initializer("c1", new long[] { 2 }, new float[] { 1, 2 })
            .Initializer("c2", new long[] { 2 }, new float[] { 3, 4 })
            .Node("Add", new[] { "c1", "c2" }, new[] { "constant" }, "add_constants")
            .Node("Relu", new[] { "x" }, new[] { "unused" }, "relu")
            .Output("constant")
            .Save(ModelPath);
        WriteNormalSamples("x", 1, 4);
        WriteConfig();

        var result = Analyze();

        Assert.True(result.ExitCode is 0 or 2, $"exit code {result.ExitCode}; errors:\n{result.Error}");
        Assert.DoesNotContain("KNQ0099", result.Error);
    }
}
