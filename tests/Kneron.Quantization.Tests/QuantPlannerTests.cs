using Kneron.Quantization.Config;
using Kneron.Quantization.Model;
using Kneron.Quantization.Planning;

namespace Kneron.Quantization.Tests;

public sealed class QuantPlannerTests
{
    private static readonly BitwidthSettings Int8 = BitwidthSettings.Uniform(BitWidth.Int8);

    private static QuantPlan Plan(OnnxBuilder builder, BitwidthSettings bits, params string[] nonFloatTensors)
    {
        var graph = new OnnxGraph(builder.Build(), "test.onnx");
        var floatTensors = graph.Graph.Node.SelectMany(n => n.Output)
            .Concat(graph.Graph.Input.Select(i => i.Name))
            .Concat(graph.Graph.Initializer.Where(TensorData.IsFloat).Select(t => t.Name))
            .Except(nonFloatTensors)
            .ToHashSet();
        return new QuantPlanner(graph, floatTensors).Plan(bits);
    }

    private static OnnxBuilder ConvInput(OnnxBuilder builder, string output = "c") => builder
        .Input("x", 1, 2, 4, 4)
        .Initializer("w", new long[] { 2, 2, 1, 1 }, new[] { 1f, 2f, 3f, 4f })
        .Node("Conv", new[] { "x", "w" }, new[] { output }, "conv");

    [Fact]
    public void ConvReluIsOneQuantizedGroup()
    {
        var builder = ConvInput(new OnnxBuilder())
            .Int64Initializer("shape", 1, 32)
            .Node("Relu", new[] { "c" }, new[] { "r" }, "relu")
            .Node("Reshape", new[] { "r", "shape" }, new[] { "y" }, "reshape")
            .Output("y");

        var plan = Plan(builder, Int8, "shape");
        var tensors = plan.Activations.ToDictionary(a => a.Tensor);

        Assert.Equal(new[] { "r", "x" }, tensors.Keys.Order());
        Assert.Equal(ActivationRole.ModelOutput, tensors["r"].Role);
        Assert.True(tensors["r"].Unsigned);
        Assert.Equal(ActivationRole.ModelInput, tensors["x"].Role);
        Assert.Equal("fused", plan.Layers.Single(l => l.Node == "relu").Category);
        Assert.Equal("w", plan.Constants.Single().Initializer);
        Assert.Equal(0, plan.Constants.Single().Axis);
    }

    [Fact]
    public void DecomposedHardSwishFusesIntoConv()
    {
        var builder = ConvInput(new OnnxBuilder())
            .Node("HardSigmoid", new[] { "c" }, new[] { "h" }, "hardsigmoid")
            .Node("Mul", new[] { "c", "h" }, new[] { "hs" }, "mul")
            .Node("Add", new[] { "hs", "x" }, new[] { "y" }, "residual")
            .Output("y");

        var plan = Plan(builder, Int8);
        var tensors = plan.Activations.Select(a => a.Tensor).Order();

        // c and h stay inside the group; the group output and the residual Add are quantized.
        Assert.Equal(new[] { "hs", "x", "y" }, tensors);
        Assert.False(plan.Activations.Single(a => a.Tensor == "hs").Unsigned);
    }

    [Fact]
    public void ResizeScalesComputedFromShapeAreNotQuantized()
    {
        var builder = ConvInput(new OnnxBuilder())
            .Initializer("two", new long[] { 4 }, new[] { 1f, 1f, 2f, 2f })
            .Initializer("roi", new long[] { 0 }, Array.Empty<float>())
            .Node("Shape", new[] { "c" }, new[] { "s" }, "shape")
            .Node("Cast", new[] { "s" }, new[] { "sf" }, "cast", OnnxBuilder.Int("to", 1))
            .Node("Div", new[] { "sf", "sf" }, new[] { "ones" }, "div")
            .Node("Mul", new[] { "ones", "two" }, new[] { "scales" }, "mul")
            .Node("Resize", new[] { "c", "roi", "scales" }, new[] { "y" }, "resize")
            .Output("y");

        var plan = Plan(builder, Int8, "s");
        var tensors = plan.Activations.Select(a => a.Tensor).ToHashSet();

        Assert.DoesNotContain("scales", tensors);
        Assert.DoesNotContain("ones", tensors);
        Assert.DoesNotContain("sf", tensors);
        Assert.DoesNotContain("two", plan.Constants.Select(c => c.Initializer));
        Assert.Contains("y", tensors);
    }

    /// <summary>
    /// A Reshape whose target shape comes from Shape(x), the way PaddlePaddle
    /// exports write a flatten. Shape reads only dimensions, so the tensors
    /// above it are data and keep their quantization.
    /// </summary>
    [Fact]
    public void TensorReadByShapeIsStillQuantized()
    {
        var builder = ConvInput(new OnnxBuilder())
            .Node("Relu", new[] { "c" }, new[] { "r" }, "relu")
            .Node("Shape", new[] { "r" }, new[] { "s" }, "shape")
            .Node("Reshape", new[] { "r", "s" }, new[] { "y" }, "reshape")
            .Node("Sigmoid", new[] { "y" }, new[] { "z" }, "sigmoid")
            .Output("z");

        var plan = Plan(builder, Int8, "s");
        var tensors = plan.Activations.Select(a => a.Tensor).ToHashSet();

        Assert.Contains("x", tensors);
        Assert.Contains("r", tensors);
        Assert.Contains("w", plan.Constants.Select(c => c.Initializer));
        Assert.DoesNotContain("s", tensors);
    }

    [Fact]
    public void HeatMapNmsIsEvaluatedOnHeatMap()
    {
        var builder = ConvInput(new OnnxBuilder(), "h")
            .Node("MaxPool", new[] { "h" }, new[] { "m" }, "maxpool", OnnxBuilder.Ints("kernel_shape", 3, 3), OnnxBuilder.Ints("pads", 1, 1, 1, 1))
            .Node("Equal", new[] { "m", "h" }, new[] { "e" }, "equal")
            .Node("Cast", new[] { "e" }, new[] { "keep" }, "cast", OnnxBuilder.Int("to", 1))
            .Node("Mul", new[] { "h", "keep" }, new[] { "scores" }, "mul")
            .Output("scores");

        var plan = Plan(builder, Int8, "e");

        Assert.Equal("h", plan.EvaluatedTensors["scores"]);
        Assert.Contains("cast", plan.CpuNodes);
    }

    [Theory]
    [InlineData("ConvTranspose", 0L, 1)]
    [InlineData("Gemm", 1L, 0)]
    [InlineData("Gemm", 0L, 1)]
    public void WeightAxisIsOutputChannel(string opType, long transB, int expectedAxis)
    {
        var builder = new OnnxBuilder()
            .Input("x", 2, 2)
            .Initializer("w", new long[] { 2, 2 }, new[] { 1f, 2f, 3f, 4f });
        if (opType == "Gemm")
        {
            builder.Node("Gemm", new[] { "x", "w" }, new[] { "y" }, "op", OnnxBuilder.Int("transB", transB));
        }
        else
        {
            builder.Node("ConvTranspose", new[] { "x", "w" }, new[] { "y" }, "op");
        }

        builder.Output("y");
        var plan = Plan(builder, Int8);

        Assert.Equal(expectedAxis, plan.Constants.Single().Axis);
    }

    [Fact]
    public void EachTensorKindTakesItsOwnWidth()
    {
        var builder = ConvInput(new OnnxBuilder())
            .Initializer("k", new long[] { 1 }, new[] { 0.5f })
            .Node("Add", new[] { "c", "x" }, new[] { "a" }, "add")
            .Node("Mul", new[] { "a", "k" }, new[] { "y" }, "scale")
            .Output("y");
        var bits = new BitwidthSettings(Datapath: BitWidth.Int8, Weight: BitWidth.Int4, ModelIn: BitWidth.Int16,
            ModelOut: BitWidth.Int16, CpuNode: BitWidth.Int8, ConstIn: BitWidth.Int16);

        var plan = Plan(builder, bits);
        var activations = plan.Activations.ToDictionary(a => a.Tensor);

        Assert.Equal(BitWidth.Int16, activations["x"].Bits);
        Assert.Equal(BitWidth.Int8, activations["a"].Bits);
        Assert.Equal(BitWidth.Int16, activations["y"].Bits);
        Assert.Equal(BitWidth.Int4, plan.Constants.Single(c => c.Initializer == "w").Bits);
        Assert.Equal(BitWidth.Int16, plan.Constants.Single(c => c.Initializer == "k").Bits);
    }
}
