using System.Runtime.InteropServices;
using Google.Protobuf;
using Kneron.Quantization.Model;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Kneron.Quantization.Tests;

/// <summary>
/// Opset-9 models, whose QDQ model is raised to opset 10. Slice's starts, ends
/// and axes attributes become inputs with names no other tensor uses, in the
/// main graph and in control-flow subgraphs. The written model loads in a
/// default ONNX Runtime session.
/// </summary>
public sealed class Opset9RaiseTests : IDisposable
{
    private readonly TestFolder _folder = new();
    private readonly Random _random = new(7);

    public void Dispose() => _folder.Dispose();

    private string ModelPath => _folder.Combine("model.onnx");

    private string QuantizedPath => _folder.Combine("out/model.quant.onnx");

    private float[] Values(int count) => Enumerable.Range(0, count).Select(_ => (float)(_random.NextDouble() * 2 - 1)).ToArray();

    /// <summary>Writes two .npy samples for x [1, 8] and a config that measures the SNR of y.</summary>
    private void WriteSamplesAndConfig()
    {
        for (int i = 0; i < 2; i++)
        {
            _folder.WriteBytes($"x/{i}.npy", NpyFiles.Build("<f4", "(1, 8)", MemoryMarshal.AsBytes(Values(8).AsSpan()).ToArray()));
        }

        _folder.WriteText("model.quant.yaml", "platform: 720\nsnr_threshold: 10\ncalibration:\n  tensors: x/*.npy\nevaluation:\n  outputs: [y]\n");
    }

    private static void SetOpset9(ModelProto model) => model.OpsetImport.Single(o => o.Domain == "").Version = 9;

    private static NodeProto Slice(string name, string input, string output, long start, long end)
    {
        var node = new NodeProto { OpType = "Slice", Name = name };
        node.Input.Add(input);
        node.Output.Add(output);
        node.Attribute.Add(OnnxBuilder.Ints("starts", start));
        node.Attribute.Add(OnnxBuilder.Ints("ends", end));
        node.Attribute.Add(OnnxBuilder.Ints("axes", 1));
        return node;
    }

    /// <summary>Loads the written model in a default session, which fuses the QDQ pairs, and runs it once.</summary>
    private void AssertQuantizedModelRuns()
    {
        using var session = new InferenceSession(QuantizedPath);
        using var input = OrtValue.CreateTensorValueFromMemory(Values(8), new long[] { 1, 8 });
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, new[] { "x" }, new[] { input }, new[] { "y" });
        Assert.All(results[0].GetTensorDataAsSpan<float>().ToArray(), value => Assert.True(float.IsFinite(value)));
    }

    private static IEnumerable<string> DefinedNames(GraphProto graph) =>
        graph.Initializer.Select(t => t.Name)
            .Concat(graph.Input.Select(i => i.Name))
            .Concat(graph.Node.SelectMany(n => n.Output))
            .Concat(graph.Node.SelectMany(Subgraphs.Of).SelectMany(DefinedNames));

    /// <summary>
    /// x [1, 8] → MatMul → m → Slice 'slice' (columns 0 to 4) → s, and y = s + a float
    /// initializer named 'slice_starts_opset10', the name the starts input would take.
    /// </summary>
    [Fact]
    public void SliceInputNamesAvoidExistingTensors()
    {
        var builder = new OnnxBuilder()
            .Input("x", 1, 8)
            .Initializer("w", new long[] { 8, 8 }, Values(64))
            .Initializer("slice_starts_opset10", new long[] { 1, 4 }, Values(4))
            .Node("MatMul", new[] { "x", "w" }, new[] { "m" }, "matmul")
            .Node("Add", new[] { "s", "slice_starts_opset10" }, new[] { "y" }, "add")
            .Output("y");
        builder.Graph.Node.Insert(1, Slice("slice", "m", "s", 0, 4));
        var model = builder.Build();
        SetOpset9(model);
        File.WriteAllBytes(ModelPath, model.ToByteArray());
        WriteSamplesAndConfig();

        var result = CliResult.Run("analyze", ModelPath, "--output", _folder.Combine("out"));

        Assert.True(result.ExitCode == 0, result.Error);
        var quantized = ModelProto.Parser.ParseFrom(File.ReadAllBytes(QuantizedPath));
        Assert.Equal(10, quantized.OpsetImport.Single(o => o.Domain == "").Version);
        var slice = quantized.Graph.Node.Single(n => n.OpType == "Slice");
        Assert.Empty(slice.Attribute);
        Assert.Equal(4, slice.Input.Count);
        Assert.DoesNotContain("slice_starts_opset10", slice.Input);
        var names = DefinedNames(quantized.Graph).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        AssertQuantizedModelRuns();
    }

    /// <summary>
    /// x [1, 8] → MatMul → m. If(sum of m > 0) takes columns 0 to 4 or 4 to 8 of m with an
    /// opset-9 Slice in each branch, and y = the If output × 2.
    /// </summary>
    [Fact]
    public void SliceInsideIfBranchIsRaised()
    {
        var thenBranch = new GraphProto { Name = "then_branch" };
        thenBranch.Node.Add(Slice("then_slice", "m", "then_out", 0, 4));
        thenBranch.Output.Add(new ValueInfoProto { Name = "then_out", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = TensorData.FloatType } } });
        var elseBranch = new GraphProto { Name = "else_branch" };
        elseBranch.Node.Add(Slice("else_slice", "m", "else_out", 4, 8));
        elseBranch.Output.Add(new ValueInfoProto { Name = "else_out", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = TensorData.FloatType } } });

        var builder = new OnnxBuilder()
            .Input("x", 1, 8)
            .Initializer("w", new long[] { 8, 8 }, Values(64))
            .Initializer("zero", Array.Empty<long>(), new float[] { 0 })
            .Initializer("two", new long[] { 1 }, new float[] { 2 })
            .Node("MatMul", new[] { "x", "w" }, new[] { "m" }, "matmul")
            .Node("ReduceSum", new[] { "m" }, new[] { "total" }, "total", OnnxBuilder.Int("keepdims", 0))
            .Node("Greater", new[] { "total", "zero" }, new[] { "cond" }, "positive")
            .Node("If", new[] { "cond" }, new[] { "half" }, "branch")
            .Node("Mul", new[] { "half", "two" }, new[] { "y" }, "double")
            .Output("y");
        var ifNode = builder.Graph.Node.Single(n => n.OpType == "If");
        ifNode.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = thenBranch });
        ifNode.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = elseBranch });
        var model = builder.Build();
        SetOpset9(model);
        File.WriteAllBytes(ModelPath, model.ToByteArray());
        WriteSamplesAndConfig();

        var result = CliResult.Run("analyze", ModelPath, "--output", _folder.Combine("out"));

        Assert.True(result.ExitCode == 0, result.Error);
        var quantized = ModelProto.Parser.ParseFrom(File.ReadAllBytes(QuantizedPath));
        Assert.Equal(10, quantized.OpsetImport.Single(o => o.Domain == "").Version);
        var branches = Subgraphs.Of(quantized.Graph.Node.Single(n => n.OpType == "If")).ToList();
        Assert.All(branches, branch => Assert.Empty(branch.Node.Single(n => n.OpType == "Slice").Attribute));
        Assert.All(branches, branch => Assert.Equal(4, branch.Node.Single(n => n.OpType == "Slice").Input.Count));
        AssertQuantizedModelRuns();
    }
}
