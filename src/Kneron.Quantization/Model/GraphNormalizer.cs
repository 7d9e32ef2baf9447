using Kneron.Quantization.Calibration;
using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;
using Onnx;

namespace Kneron.Quantization.Model;

/// <summary>
/// Brings a loaded model into the form the planner expects, in place on the
/// in-memory copy: weights held in <c>Constant</c> nodes become initializers,
/// dynamic input dimensions are fixed from the config, and a
/// BatchNormalization that follows a Conv is folded into the Conv's weights.
/// </summary>
public static class GraphNormalizer
{
    public static IReadOnlyList<ModelInput> Normalize(OnnxGraph graph, QuantConfig config)
    {
        ConvertConstantNodes(graph);
        graph.Reindex();
        var inputs = FixInputShapes(graph, config);
        FoldBatchNormalization(graph);
        graph.Reindex();
        return inputs;
    }

    /// <summary>Turns <c>Constant</c> nodes with a tensor value into initializers, so weights are found in one place.</summary>
    private static void ConvertConstantNodes(OnnxGraph graph)
    {
        var constants = graph.Graph.Node.Where(n => n.OpType == "Constant" && n.Domain is "" or "ai.onnx").ToList();
        foreach (var node in constants)
        {
            var tensor = ConstantValue(node);
            if (tensor is null)
            {
                continue;
            }

            tensor.Name = node.Output[0];
            graph.Graph.Initializer.Add(tensor);
            graph.Graph.Node.Remove(node);
        }
    }

    private static TensorProto? ConstantValue(NodeProto node)
    {
        foreach (var attribute in node.Attribute)
        {
            switch (attribute.Name)
            {
                case "value":
                    return attribute.T.Clone();
                case "value_float":
                    return TensorData.CreateFloat("", Array.Empty<long>(), new[] { attribute.F });
                case "value_floats":
                    return TensorData.CreateFloat("", new long[] { attribute.Floats.Count }, attribute.Floats.ToArray());
                case "value_int":
                    var scalar = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64 };
                    scalar.Int64Data.Add(attribute.I);
                    return scalar;
                case "value_ints":
                    var vector = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64 };
                    vector.Dims.Add(attribute.Ints.Count);
                    vector.Int64Data.AddRange(attribute.Ints);
                    return vector;
            }
        }

        return null;
    }

    /// <summary>
    /// Applies <c>inputs.&lt;name&gt;.shape</c> and checks that no input is left
    /// with a dynamic dimension. Returns the inputs with their fixed shapes.
    /// </summary>
    private static IReadOnlyList<ModelInput> FixInputShapes(OnnxGraph graph, QuantConfig config)
    {
        var realInputs = graph.RealInputs.ToList();
        foreach (var (name, input) in config.Inputs)
        {
            if (realInputs.All(i => i.Name != name))
            {
                var known = string.Join(", ", realInputs.Select(i => $"'{i.Name}'"));
                throw new KnqException(ModelCodes.UnknownInput, input.Location,
                    $"inputs.{name} names no input of the model; its inputs are {known}.");
            }
        }

        var result = new List<ModelInput>();
        foreach (var input in realInputs)
        {
            var tensorType = input.Type?.TensorType;
            var dims = tensorType?.Shape?.Dim;
            config.Inputs.TryGetValue(input.Name, out var inputConfig);
            var configShape = inputConfig?.Shape.Value;

            if (configShape is not null)
            {
                if (dims is not null && dims.Count != configShape.Count)
                {
                    throw new KnqException(ModelCodes.InputShapeMismatch, inputConfig!.Shape.Location,
                        $"inputs.{input.Name}.shape has {configShape.Count} dimensions but the model input has {dims.Count} ({DescribeShape(dims)}).");
                }

                for (int i = 0; dims is not null && i < dims.Count; i++)
                {
                    if (dims[i].DimValue > 0 && dims[i].DimValue != configShape[i])
                    {
                        throw new KnqException(ModelCodes.InputShapeMismatch, inputConfig!.Shape.Location,
                            $"inputs.{input.Name}.shape sets dimension {i} to {configShape[i]}, but the model fixes it at {dims[i].DimValue} ({DescribeShape(dims)}). Only dynamic dimensions can be set.");
                    }
                }

                tensorType!.Shape ??= new TensorShapeProto();
                tensorType.Shape.Dim.Clear();
                foreach (var value in configShape)
                {
                    tensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = value });
                }
            }
            else if (dims is null || dims.Any(d => d.DimValue <= 0))
            {
                var shapeText = dims is null ? "unknown" : DescribeShape(dims);
                throw new KnqException(ModelCodes.DynamicShapeWithoutConfig, new SourceLocation(config.FilePath, 1, 1),
                    $"Model input '{input.Name}' has a dynamic shape ({shapeText}). Give its full shape in the config, for example: inputs: {{ {input.Name}: {{ shape: [1, 3, 320, 320] }} }}.");
            }

            var shape = tensorType!.Shape.Dim.Select(d => d.DimValue).ToArray();
            result.Add(new ModelInput(input.Name, shape, tensorType.ElemType == TensorData.FloatType));
        }

        return result;
    }

    private static string DescribeShape(IEnumerable<TensorShapeProto.Types.Dimension> dims) =>
        "[" + string.Join(", ", dims.Select(DescribeDimension)) + "]";

    /// <summary>Formats a dimension as its symbolic name, its size, or <c>?</c> when it has neither.</summary>
    private static string DescribeDimension(TensorShapeProto.Types.Dimension dim)
    {
        if (dim.DimParam.Length > 0)
        {
            return dim.DimParam;
        }

        return dim.DimValue > 0 ? dim.DimValue.ToString() : "?";
    }

    /// <summary>
    /// Folds <c>BatchNormalization(Conv(x, W, b))</c> into <c>Conv(x, W', b')</c>
    /// with W' = W·γ/√(σ²+ε) per output channel and b' = (b − μ)·γ/√(σ²+ε) + β.
    /// This is exact in float arithmetic; it is done only when the Conv's
    /// output feeds nothing but the BatchNormalization and every parameter is
    /// a constant. The Kneron NPU runs the pair as one node, so quantizing the
    /// folded weights matches the hardware.
    /// </summary>
    private static void FoldBatchNormalization(OnnxGraph graph)
    {
        foreach (var bn in graph.Graph.Node.Where(n => n.OpType == "BatchNormalization").ToList())
        {
            var conv = graph.Producer(bn.Input[0]);
            if (conv is null || conv.OpType != "Conv" || conv.Output.Count != 1 || bn.Output.Count != 1 || bn.Input.Count < 5)
            {
                continue;
            }

            if (graph.Consumers(conv.Output[0]).Count != 1 || graph.IsGraphOutput(conv.Output[0]))
            {
                continue;
            }

            var parameters = bn.Input.Skip(1).Take(4).Select(name => graph.Initializers.GetValueOrDefault(name)).ToArray();
            if (parameters.Any(p => p is null || !TensorData.IsFloat(p)) || !graph.Initializers.TryGetValue(conv.Input[1], out var weightTensor) || !TensorData.IsFloat(weightTensor))
            {
                continue;
            }

            var gamma = TensorData.ReadFloats(parameters[0]!);
            var beta = TensorData.ReadFloats(parameters[1]!);
            var mean = TensorData.ReadFloats(parameters[2]!);
            var variance = TensorData.ReadFloats(parameters[3]!);
            var epsilon = OnnxGraph.FloatAttribute(bn, "epsilon", 1e-5f);

            var weights = TensorData.ReadFloats(weightTensor);
            int outChannels = (int)weightTensor.Dims[0];
            if (gamma.Length != outChannels)
            {
                continue;
            }

            var bias = conv.Input.Count > 2 && conv.Input[2].Length > 0 && graph.Initializers.TryGetValue(conv.Input[2], out var biasTensor)
                ? TensorData.ReadFloats(biasTensor)
                : new float[outChannels];

            int perChannel = weights.Length / outChannels;
            var foldedWeights = new float[weights.Length];
            var foldedBias = new float[outChannels];
            for (int c = 0; c < outChannels; c++)
            {
                double factor = gamma[c] / Math.Sqrt(variance[c] + epsilon);
                for (int k = 0; k < perChannel; k++)
                {
                    foldedWeights[c * perChannel + k] = (float)(weights[c * perChannel + k] * factor);
                }

                foldedBias[c] = (float)((bias[c] - mean[c]) * factor + beta[c]);
            }

            // New initializer names: the originals may be shared with other nodes.
            var weightName = UniqueName(graph, conv.Input[1] + "_bn_folded");
            var biasName = UniqueName(graph, (conv.Input.Count > 2 && conv.Input[2].Length > 0 ? conv.Input[2] : conv.Output[0] + "_bias") + "_bn_folded");
            graph.Graph.Initializer.Add(TensorData.CreateFloat(weightName, weightTensor.Dims.ToArray(), foldedWeights));
            graph.Graph.Initializer.Add(TensorData.CreateFloat(biasName, new long[] { outChannels }, foldedBias));

            conv.Input[1] = weightName;
            if (conv.Input.Count > 2)
            {
                conv.Input[2] = biasName;
            }
            else
            {
                conv.Input.Add(biasName);
            }

            conv.Output[0] = bn.Output[0];
            graph.Graph.Node.Remove(bn);
            graph.Reindex();
        }

        RemoveUnusedInitializers(graph);
    }

    private static void RemoveUnusedInitializers(OnnxGraph graph)
    {
        // A subgraph may read an initializer that no node lists as an input.
        var used = graph.Graph.Node
            .SelectMany(n => n.Input.Concat(Subgraphs.OuterScopeInputs(n)))
            .Concat(graph.Graph.Output.Select(o => o.Name))
            .ToHashSet();
        var unused = graph.Graph.Initializer.Where(t => !used.Contains(t.Name)).ToList();
        foreach (var tensor in unused)
        {
            graph.Graph.Initializer.Remove(tensor);
            var listedInput = graph.Graph.Input.FirstOrDefault(i => i.Name == tensor.Name);
            if (listedInput is not null)
            {
                graph.Graph.Input.Remove(listedInput);
            }
        }
    }

    public static string UniqueName(OnnxGraph graph, string name)
    {
        var candidate = name;
        for (int i = 1; graph.Initializers.ContainsKey(candidate) || graph.Producer(candidate) is not null; i++)
        {
            candidate = $"{name}_{i}";
        }

        return candidate;
    }
}
