using Kneron.Quantization.Calibration;
using Kneron.Quantization.Config;
using Kneron.Quantization.Model;
using Kneron.Quantization.Planning;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Kneron.Quantization.Simulation;

/// <summary>
/// One simulation graph that serves every bit-width configuration of a
/// model, so trying modes and ranking layers for mixbw needs one ONNX
/// Runtime session, not one per configuration.
///
/// Each quantized activation T becomes Max(Min(T, hi), lo) →
/// QuantizeLinear(scale) → DequantizeLinear(scale) in a 16-bit container,
/// with lo, hi and scale as graph inputs. Clipping to [qmin·scale,
/// qmax·scale] first makes the 16-bit container give exactly the values an
/// 8-bit QuantizeLinear would (which saturates at qmin and qmax), so the
/// width is chosen by the values fed, not by the graph. Each weight is the
/// sum of its fake-quantized copies at each width, each multiplied by a 0/1
/// selector input, which picks one copy exactly. Constant operands are
/// fake-quantized once at <c>const_in_bitwidth_mode</c>. Biases stay float,
/// a difference below half an accumulator step.
/// </summary>
public sealed class SimulationGraph : IDisposable
{
    private const string MicrosoftDomain = "com.microsoft";

    private readonly OrtRunner _runner;
    private readonly IReadOnlyList<BitWidth> _weightWidths;

    private SimulationGraph(OrtRunner runner, IReadOnlyList<BitWidth> weightWidths)
    {
        _runner = runner;
        _weightWidths = weightWidths;
    }

    /// <param name="graph">The normalized float graph; it is not modified.</param>
    /// <param name="structure">Any plan of the model: only which tensors are quantized is used, not their widths.</param>
    /// <param name="weightWidths">The weight widths configurations may choose from.</param>
    /// <param name="evaluatedTensors">Tensors to expose as outputs.</param>
    public static SimulationGraph Build(OnnxGraph graph, QuantPlan structure, IReadOnlyList<ModelInput> inputs,
        IReadOnlyList<BitWidth> weightWidths, IEnumerable<string> evaluatedTensors)
    {
        var model = graph.Clone();
        var names = new NameScope(model);
        var taps = new TensorTaps(model, names);

        foreach (var constant in structure.Constants)
        {
            ReplaceConstant(model, constant, names, weightWidths, taps);
        }

        foreach (var point in structure.Activations)
        {
            var zeroPoint = names.Next(point.Tensor + "_zero_point");
            var containerType = point.Unsigned ? TensorProto.Types.DataType.Uint16 : TensorProto.Types.DataType.Int16;
            model.Graph.Initializer.Add(TensorData.CreateInteger(zeroPoint, containerType, Array.Empty<long>(), new[] { 0 }));

            var (floatName, outputName, producer) = taps.Intercept(point.Tensor);
            var (scale, low, high) = ParameterNames(point.Tensor);
            foreach (var parameter in new[] { scale, low, high })
            {
                model.Graph.Input.Add(ScalarInput(parameter));
            }

            var clippedHigh = names.Next(point.Tensor + "_clipped_high");
            var clipped = names.Next(point.Tensor + "_clipped");
            var quantized = names.Next(point.Tensor + "_quantized");
            var nodes = new List<NodeProto>
            {
                Node("Min", "", names.Next(point.Tensor + "_Min"), new[] { floatName, high }, clippedHigh),
                Node("Max", "", names.Next(point.Tensor + "_Max"), new[] { clippedHigh, low }, clipped),
                Node("QuantizeLinear", MicrosoftDomain, names.Next(point.Tensor + "_QuantizeLinear"), new[] { clipped, scale, zeroPoint }, quantized),
                Node("DequantizeLinear", MicrosoftDomain, names.Next(point.Tensor + "_DequantizeLinear"), new[] { quantized, scale, zeroPoint }, outputName),
            };

            taps.Insert(producer, nodes);
        }

        taps.Commit();
        if (model.Model.OpsetImport.All(o => o.Domain != MicrosoftDomain))
        {
            model.Model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        }

        model.Reindex();
        // Only the evaluated tensors are outputs: exposing every activation would keep ONNX Runtime
        // from reusing their buffers, and trials need the model outputs alone.
        var runner = OrtRunner.Create(model, inputs, evaluatedTensors.Distinct(), simulateQuantization: true);
        return new SimulationGraph(runner, weightWidths);
    }

    /// <summary>
    /// Creates the graph-input values that select one configuration: the
    /// scale and clipping bounds of each activation at its planned width,
    /// and the weight copy of each weight's planned width.
    /// </summary>
    /// <param name="plan">A plan of the same model with the widths to simulate.</param>
    /// <param name="thresholds">Clipping threshold per activation and width (max |x| kept).</param>
    public SimulationParameters Parameters(QuantPlan plan, Func<string, BitWidth, double> thresholds)
    {
        var values = new List<KeyValuePair<string, OrtValue>>();
        foreach (var point in plan.Activations)
        {
            var grid = new QuantGrid(point.Bits, point.Unsigned);
            double threshold = thresholds(point.Tensor, point.Bits);
            float scale = threshold > 0 && double.IsFinite(threshold) ? (float)(threshold / grid.Max) : 0f;

            // A tensor that was zero on every calibration sample stays exactly zero.
            var (scaleName, lowName, highName) = ParameterNames(point.Tensor);
            values.Add(new(scaleName, Scalar(scale > 0 ? scale : 1f)));
            values.Add(new(lowName, Scalar(scale > 0 ? grid.Min * scale : 0f)));
            values.Add(new(highName, Scalar(scale > 0 ? grid.Max * scale : 0f)));
        }

        foreach (var constant in plan.Constants.Where(c => c.Role == ConstantRole.Weight))
        {
            foreach (var width in _weightWidths)
            {
                values.Add(new(SelectorName(constant.Initializer, width), Scalar(constant.Bits == width ? 1f : 0f)));
            }
        }

        return new SimulationParameters(values);
    }

    public OrtOutputs Run(Sample sample, IReadOnlyList<string> outputNames, SimulationParameters parameters) =>
        _runner.Run(sample, outputNames, parameters.Values);

    public void Dispose() => _runner.Dispose();

    private static (string Scale, string Low, string High) ParameterNames(string tensor) =>
        ($"{tensor}::scale", $"{tensor}::clip_low", $"{tensor}::clip_high");

    private static string SelectorName(string weight, BitWidth width) => $"{weight}::select_int{(int)width}";

    /// <summary>
    /// Replaces a weight by Σ (its fake-quantized copy at each width × that
    /// width's selector input), or a constant operand by its fake-quantized
    /// copy at its planned width. Fake-quantized values are computed as
    /// float32 q · scale, as DequantizeLinear does.
    /// </summary>
    private static void ReplaceConstant(OnnxGraph model, ConstantPoint constant, NameScope names, IReadOnlyList<BitWidth> weightWidths, TensorTaps taps)
    {
        var tensor = model.Initializers[constant.Initializer];
        var dims = tensor.Dims.ToArray();
        model.Graph.Initializer.Remove(tensor);
        var listedInput = model.Graph.Input.FirstOrDefault(i => i.Name == constant.Initializer);
        if (listedInput is not null)
        {
            model.Graph.Input.Remove(listedInput);
        }

        if (constant.Role != ConstantRole.Weight)
        {
            var fake = ConstantQuantizer.Quantize(tensor, constant.Bits, constant.Axis).Values;
            model.Graph.Initializer.Add(TensorData.CreateFloat(constant.Initializer, dims, fake));
            return;
        }

        var terms = new List<string>();
        foreach (var width in weightWidths)
        {
            var copy = names.Next($"{constant.Initializer}_int{(int)width}");
            var selector = SelectorName(constant.Initializer, width);
            var term = names.Next($"{constant.Initializer}_int{(int)width}_selected");
            model.Graph.Initializer.Add(TensorData.CreateFloat(copy, dims, ConstantQuantizer.Quantize(tensor, width, constant.Axis).Values));
            model.Graph.Input.Add(ScalarInput(selector));
            taps.InsertFirst(Node("Mul", "", names.Next(term + "_Mul"), new[] { copy, selector }, term));
            terms.Add(term);
        }

        var sum = terms[0];
        for (int i = 1; i < terms.Count; i++)
        {
            var next = i == terms.Count - 1 ? constant.Initializer : names.Next($"{constant.Initializer}_sum{i}");
            taps.InsertFirst(Node("Add", "", names.Next(next + "_Add"), new[] { sum, terms[i] }, next));
            sum = next;
        }

        if (terms.Count == 1)
        {
            taps.InsertFirst(Node("Identity", "", names.Next(constant.Initializer + "_Identity"), new[] { terms[0] }, constant.Initializer));
        }
    }

    private static NodeProto Node(string opType, string domain, string name, string[] inputs, string output)
    {
        var node = new NodeProto { OpType = opType, Domain = domain, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }

    private static ValueInfoProto ScalarInput(string name) => new()
    {
        Name = name,
        Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = TensorData.FloatType, Shape = new TensorShapeProto() } },
    };

    private static OrtValue Scalar(float value) => OrtValue.CreateTensorValueFromMemory(new[] { value }, Array.Empty<long>());
}

/// <summary>The graph-input values that select one configuration of a <see cref="SimulationGraph"/>.</summary>
public sealed class SimulationParameters : IDisposable
{
    public SimulationParameters(IReadOnlyList<KeyValuePair<string, OrtValue>> values) => Values = values;

    public IReadOnlyList<KeyValuePair<string, OrtValue>> Values { get; }

    public void Dispose()
    {
        foreach (var (_, value) in Values)
        {
            value.Dispose();
        }
    }
}
