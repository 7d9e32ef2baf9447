using Kneron.Quantization.Config;
using Kneron.Quantization.Model;
using Kneron.Quantization.Planning;
using Onnx;

namespace Kneron.Quantization.Simulation;

/// <summary>The QDQ model and, per quantized activation, the names of its float and quantized values.</summary>
public sealed class QdqModel
{
    public required OnnxGraph Graph { get; init; }

    public required IReadOnlyList<TensorQuantization> Table { get; init; }

    /// <summary>
    /// Quantized activation name to (the tensor holding its value before
    /// quantization, the tensor holding it after QuantizeLinear→DequantizeLinear).
    /// </summary>
    public required IReadOnlyDictionary<string, (string Float, string Quantized)> ActivationTensors { get; init; }
}

/// <summary>
/// Rewrites a float graph into a QDQ graph: each planned activation gets a
/// QuantizeLinear→DequantizeLinear pair after it, and each planned constant is
/// stored as integers behind a DequantizeLinear. The <c>com.microsoft</c>
/// QuantizeLinear/DequantizeLinear are used because they take int4, int8 and
/// int16 with a per-channel axis at any opset, so the source opset is kept,
/// except that opset 9 becomes 10 for ONNX Runtime's QLinearConv fusion.
/// Tensor names the rest of the graph uses do not change.
/// </summary>
public static class QdqModelBuilder
{
    /// <summary>Default-domain operators other than Slice whose inputs or attributes differ between opset 9 and opset 10.</summary>
    private static readonly HashSet<string> OpsChangedInOpset10 = new() { "Upsample", "TopK", "Dropout" };

    /// <summary>
    /// Raises a default-domain opset of 9 to 10. ONNX Runtime's default
    /// session options fuse DequantizeLinear→Conv→QuantizeLinear into
    /// QLinearConv, which exists only from opset 10, so an opset-9 QDQ model
    /// fails to load there. Slice moves its starts, ends and axes attributes
    /// to inputs, as opset 10 defines it, in the main graph and in the
    /// subgraphs of If, Loop and Scan, because the opset applies to them too.
    /// A graph with another operator that changed keeps opset 9.
    /// </summary>
    private static void RaiseOpset9ForQLinearFusion(OnnxGraph graph, NameScope names)
    {
        var defaultOpset = graph.Model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        var graphs = WithSubgraphs(graph.Graph).ToList();
        // NOTE: models below opset 9, and opset-9 models with Upsample, TopK or Dropout, keep their opset
        // and can still fail to load in a default ONNX Runtime session once a Conv is quantized.
        if (defaultOpset is not { Version: 9 } || graphs.SelectMany(g => g.Node).Any(n => IsDefaultDomain(n) && OpsChangedInOpset10.Contains(n.OpType)))
        {
            return;
        }

        foreach (var owner in graphs)
        {
            foreach (var slice in owner.Node.Where(n => IsDefaultDomain(n) && n.OpType == "Slice"))
            {
                MoveSliceAttributesToInputs(owner, slice, names);
            }
        }

        defaultOpset.Version = 10;
    }

    private static bool IsDefaultDomain(NodeProto node) => node.Domain is "" or "ai.onnx";

    /// <summary>Returns the graph and every subgraph nested in its nodes.</summary>
    private static IEnumerable<GraphProto> WithSubgraphs(GraphProto graph) =>
        graph.Node.SelectMany(Subgraphs.Of).SelectMany(WithSubgraphs).Prepend(graph);

    /// <summary>Turns an opset-9 Slice's starts, ends and axes into int64 initializers of the graph that contains it, in opset 10's input order.</summary>
    private static void MoveSliceAttributesToInputs(GraphProto owner, NodeProto slice, NameScope names)
    {
        var name = OnnxGraph.DisplayName(slice);
        foreach (var attributeName in new[] { "starts", "ends", "axes" })
        {
            var attribute = slice.Attribute.FirstOrDefault(a => a.Name == attributeName);
            if (attribute is null)
            {
                continue;
            }

            var tensor = new TensorProto { Name = names.Next($"{name}_{attributeName}_opset10"), DataType = (int)TensorProto.Types.DataType.Int64 };
            tensor.Dims.Add(attribute.Ints.Count);
            tensor.Int64Data.AddRange(attribute.Ints);
            owner.Initializer.Add(tensor);
            slice.Attribute.Remove(attribute);
            slice.Input.Add(tensor.Name);
        }
    }

    private const string MicrosoftDomain = "com.microsoft";

    /// <param name="source">The normalized float graph; it is not modified.</param>
    /// <param name="plan">What to quantize.</param>
    /// <param name="thresholds">Clipping threshold (max |x| kept) per activation tensor, from calibration.</param>
    public static QdqModel Build(OnnxGraph source, QuantPlan plan, IReadOnlyDictionary<string, double> thresholds)
    {
        var graph = source.Clone();
        var table = new List<TensorQuantization>();
        var activationTensors = new Dictionary<string, (string, string)>();
        var names = new NameScope(graph);

        var taps = new TensorTaps(graph, names);
        // Keyed by reference: a protobuf message hashes by value, and renaming a producer's
        // second output after its first pair is stored would lose that pair.

        foreach (var constant in plan.Constants)
        {
            var dq = QuantizeConstant(graph, constant, names, table);
            if (dq is not null)
            {
                taps.InsertFirst(dq);
            }
        }

        foreach (var point in plan.Activations)
        {
            var threshold = thresholds.GetValueOrDefault(point.Tensor);
            if (threshold <= 0 || !double.IsFinite(threshold))
            {
                // Every calibration value was zero: zero is exact on any grid, so nothing to simulate.
                continue;
            }

            var grid = new QuantGrid(point.Bits, point.Unsigned);
            double scale = threshold / grid.Max;
            var scaleName = names.Next(point.Tensor + "_scale");
            var zeroPointName = names.Next(point.Tensor + "_zero_point");
            graph.Graph.Initializer.Add(TensorData.CreateFloat(scaleName, Array.Empty<long>(), new[] { (float)scale }));
            graph.Graph.Initializer.Add(TensorData.CreateInteger(zeroPointName, grid.DataType, Array.Empty<long>(), new[] { 0 }));

            var quantizedName = names.Next(point.Tensor + "_quantized");
            var (floatName, dequantizedName, producer) = taps.Intercept(point.Tensor);
            taps.Insert(producer, new[]
            {
                QdqNode("QuantizeLinear", names.Next(point.Tensor + "_QuantizeLinear"), floatName, scaleName, zeroPointName, quantizedName, axis: null),
                QdqNode("DequantizeLinear", names.Next(point.Tensor + "_DequantizeLinear"), quantizedName, scaleName, zeroPointName, dequantizedName, axis: null),
            });

            activationTensors[point.Tensor] = (floatName, dequantizedName);
            var (radix, kneronScale) = TensorQuantization.ToKneron(new[] { scale });
            table.Add(new TensorQuantization(point.Tensor, "activation", RoleName(point.Role), point.Bits, point.Unsigned,
                new[] { scale }, new[] { 0 }, null, point.Unsigned ? 0 : -threshold, threshold, radix, kneronScale));
        }

        // Constants and model-input pairs first, each activation pair right after its producer.
        taps.Commit();

        // Biases last: their scale needs the input's and the weights' DequantizeLinear in the graph.
        var biasNodes = new List<NodeProto>();
        foreach (var node in graph.Graph.Node.Where(n => n.OpType is "Conv" or "ConvTranspose" or "Gemm").ToList())
        {
            var dq = QuantizeBias(graph, node, names, table);
            if (dq is not null)
            {
                biasNodes.Add(dq);
            }
        }

        for (int i = 0; i < biasNodes.Count; i++)
        {
            graph.Graph.Node.Insert(i, biasNodes[i]);
        }
        if (graph.Model.OpsetImport.All(o => o.Domain != MicrosoftDomain))
        {
            graph.Model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        }

        RaiseOpset9ForQLinearFusion(graph, names);
        graph.Reindex();
        return new QdqModel { Graph = graph, Table = table, ActivationTensors = activationTensors };
    }

    /// <summary>
    /// Replaces a float initializer by its integer values and a
    /// DequantizeLinear that outputs the original name. Weights use one
    /// symmetric scale per output channel (max |w| of the channel / qmax).
    /// </summary>
    private static NodeProto? QuantizeConstant(OnnxGraph graph, ConstantPoint constant, NameScope names, List<TensorQuantization> table)
    {
        var tensor = graph.Initializers[constant.Initializer];
        var dims = tensor.Dims.ToArray();
        var result = ConstantQuantizer.Quantize(tensor, constant.Bits, constant.Axis);
        if (result.MaxAbs == 0)
        {
            return null;
        }

        var grid = new QuantGrid(constant.Bits, false);
        int channels = result.Scales.Length;
        var floatScales = result.Scales;
        var quantized = result.Quantized;
        var quantizedName = names.Next(constant.Initializer + "_quantized");
        var scaleName = names.Next(constant.Initializer + "_scale");
        var zeroPointName = names.Next(constant.Initializer + "_zero_point");
        long[] parameterDims = constant.Axis is not null ? new long[] { channels } : Array.Empty<long>();

        graph.Graph.Initializer.Remove(tensor);
        var listedInput = graph.Graph.Input.FirstOrDefault(i => i.Name == constant.Initializer);
        if (listedInput is not null)
        {
            graph.Graph.Input.Remove(listedInput);
        }

        graph.Graph.Initializer.Add(TensorData.CreateInteger(quantizedName, grid.DataType, dims, quantized));
        graph.Graph.Initializer.Add(TensorData.CreateFloat(scaleName, parameterDims, floatScales));
        graph.Graph.Initializer.Add(TensorData.CreateInteger(zeroPointName, grid.DataType, parameterDims, new int[channels]));

        var (radix, kneronScale) = TensorQuantization.ToKneron(floatScales.Select(s => (double)s).ToArray());
        double maxOfAll = result.MaxAbs;
        table.Add(new TensorQuantization(constant.Initializer, constant.Role == ConstantRole.Weight ? "weight" : "constant",
            constant.Role == ConstantRole.Weight ? "weight" : "const_in", constant.Bits, false,
            floatScales.Select(s => (double)s).ToArray(), new int[channels], constant.Axis, -maxOfAll, maxOfAll, radix, kneronScale));

        return QdqNode("DequantizeLinear", names.Next(constant.Initializer + "_DequantizeLinear"), quantizedName, scaleName, zeroPointName, constant.Initializer, constant.Axis);
    }

    /// <summary>
    /// Stores a Conv, ConvTranspose or Gemm bias as int32 with scale
    /// input scale × weight scale per output channel, the usual QDQ layout
    /// and how integer accelerators add the bias. Done only when the input and
    /// the weights are quantized per channel. The rounding error is below
    /// half an accumulator step, far under the output's own quantization.
    /// Without it, ONNX Runtime's graph optimizer adds its own bias
    /// quantization, which is invalid below opset 13.
    /// </summary>
    private static NodeProto? QuantizeBias(OnnxGraph graph, NodeProto node, NameScope names, List<TensorQuantization> table)
    {
        if (node.Input.Count < 3 || node.Input[2].Length == 0 || !graph.Initializers.TryGetValue(node.Input[2], out var biasTensor) || !TensorData.IsFloat(biasTensor))
        {
            return null;
        }

        var inputScale = DequantizedScale(graph, node.Input[0]);
        var weightDq = graph.Producer(node.Input[1]);
        if (inputScale is null || weightDq is null || weightDq.OpType != "DequantizeLinear" || OnnxGraph.Attribute(weightDq, "axis") is null)
        {
            return null;
        }

        var weightScales = TensorData.ReadFloats(graph.Initializers[weightDq.Input[1]]);
        var bias = TensorData.ReadFloats(biasTensor);
        if (bias.Length != weightScales.Length)
        {
            return null;
        }

        var scales = new float[bias.Length];
        var quantized = new int[bias.Length];
        for (int c = 0; c < bias.Length; c++)
        {
            // With 16-bit inputs and weights, input scale × weight scale can be so fine that the
            // bias overflows int32; the step then widens just enough to hold it (a relative
            // error below 1e-9). ONNX Runtime's integer Conv kernels, which assume the exact
            // product, take only 8-bit inputs, where a bias this large does not occur in practice.
            scales[c] = Math.Max(inputScale.Value * weightScales[c], (float)(Math.Abs(bias[c]) / (int.MaxValue - 128.0)));
            quantized[c] = (int)Math.Clamp(Math.Round(bias[c] / (double)scales[c], MidpointRounding.ToEven), int.MinValue, int.MaxValue);
        }

        var biasName = node.Input[2];
        var quantizedName = names.Next(biasName + "_quantized");
        var scaleName = names.Next(biasName + "_scale");
        var zeroPointName = names.Next(biasName + "_zero_point");
        graph.Graph.Initializer.Add(CreateInt32(quantizedName, new long[] { bias.Length }, quantized));
        graph.Graph.Initializer.Add(TensorData.CreateFloat(scaleName, new long[] { bias.Length }, scales));
        graph.Graph.Initializer.Add(CreateInt32(zeroPointName, new long[] { bias.Length }, new int[bias.Length]));

        // The float bias may be shared with another node; a fresh name keeps the original for it.
        var dequantizedName = names.Next(biasName + "_dequantized");
        node.Input[2] = dequantizedName;
        if (!graph.Graph.Node.Any(n => n != node && (n.Input.Contains(biasName) || Subgraphs.OuterScopeInputs(n).Contains(biasName))))
        {
            graph.Graph.Initializer.Remove(biasTensor);
        }

        var doubles = scales.Select(s => (double)s).ToArray();
        var (radix, kneronScale) = TensorQuantization.ToKneron(doubles);
        double maxAbs = bias.Max(b => Math.Abs((double)b));
        table.Add(new TensorQuantization(biasName, "bias", "bias", BitWidth.Int32, false, doubles, new int[bias.Length], 0, -maxAbs, maxAbs, radix, kneronScale));
        return QdqNode("DequantizeLinear", names.Next(biasName + "_DequantizeLinear"), quantizedName, scaleName, zeroPointName, dequantizedName, 0);
    }

    /// <summary>The scale of the DequantizeLinear a tensor comes from, looking through data-movement nodes; null if it is not quantized.</summary>
    private static float? DequantizedScale(OnnxGraph graph, string tensor)
    {
        var current = tensor;
        for (int depth = 0; depth < 64; depth++)
        {
            var producer = graph.Producer(current);
            if (producer is null)
            {
                return null;
            }

            if (producer.OpType == "DequantizeLinear")
            {
                return graph.Initializers.TryGetValue(producer.Input[1], out var scale) && TensorData.ElementCount(scale) == 1
                    ? TensorData.ReadFloats(scale)[0]
                    : null;
            }

            if (!Planning.OperatorCatalog.PassThroughOps.Contains(producer.OpType) || producer.Input.Count == 0)
            {
                return null;
            }

            current = producer.Input[0];
        }

        return null;
    }

    private static TensorProto CreateInt32(string name, long[] dims, int[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int32 };
        tensor.Dims.AddRange(dims);
        tensor.Int32Data.AddRange(values);
        return tensor;
    }

    private static NodeProto QdqNode(string opType, string name, string input, string scale, string zeroPoint, string output, int? axis)
    {
        var node = new NodeProto { OpType = opType, Domain = MicrosoftDomain, Name = name };
        node.Input.Add(input);
        node.Input.Add(scale);
        node.Input.Add(zeroPoint);
        node.Output.Add(output);
        if (axis is not null)
        {
            node.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = axis.Value });
        }

        return node;
    }

    public static string RoleName(ActivationRole role) => role switch
    {
        ActivationRole.ModelInput => "model_in",
        ActivationRole.ModelOutput => "model_out",
        ActivationRole.CpuNode => "cpu_node",
        _ => "datapath",
    };
}
