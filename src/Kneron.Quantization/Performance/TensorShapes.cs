using Kneron.Quantization.Calibration;
using Kneron.Quantization.Diagnostics;
using Kneron.Quantization.Model;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Kneron.Quantization.Performance;

/// <summary>
/// The shape of every tensor of a graph with fixed input shapes, taken from
/// one float ONNX Runtime run with every node output exposed. Initializers
/// take their stored dimensions.
/// </summary>
public sealed class TensorShapes
{
    private readonly Dictionary<string, long[]> _shapes;

    public TensorShapes(Dictionary<string, long[]> shapes) => _shapes = shapes;

    public bool TryGet(string tensor, out long[] shape) => _shapes.TryGetValue(tensor, out shape!);

    /// <summary>Number of elements of the tensor, or 0 when its shape is unknown.</summary>
    public long ElementCount(string tensor) =>
        tensor.Length > 0 && _shapes.TryGetValue(tensor, out var shape) ? shape.Aggregate(1L, (product, dim) => product * dim) : 0;

    /// <summary>Runs <paramref name="graph"/> once on <paramref name="sample"/> and records every tensor's shape.</summary>
    public static TensorShapes Measure(OnnxGraph graph, IReadOnlyList<ModelInput> inputs, Sample sample)
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var initializer in graph.Graph.Initializer)
        {
            shapes[initializer.Name] = initializer.Dims.ToArray();
        }

        foreach (var input in inputs)
        {
            shapes[input.Name] = input.Shape.ToArray();
        }

        var model = graph.Model.Clone();
        var outputs = model.Graph.Output.Select(o => o.Name).ToHashSet();
        foreach (var name in model.Graph.Node.SelectMany(n => n.Output).Where(o => o.Length > 0))
        {
            if (outputs.Add(name))
            {
                model.Graph.Output.Add(new ValueInfoProto { Name = name });
            }
        }

        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        var values = new List<OrtValue>();
        try
        {
            using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(model), options);
            foreach (var input in inputs)
            {
                values.Add(OrtValue.CreateTensorValueFromMemory(sample.Inputs[input.Name], input.Shape.ToArray()));
            }

            var names = session.OutputMetadata.Keys.ToList();
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, inputs.Select(i => i.Name).ToList(), values, names);
            int index = 0;
            foreach (var result in results)
            {
                var name = names[index++];
                if (result.IsTensor)
                {
                    shapes[name] = result.GetTensorTypeAndShape().Shape;
                }
            }
        }
        catch (OnnxRuntimeException ex)
        {
            throw new KnqException(ModelCodes.RuntimeRejectedModel, new SourceLocation(graph.Path),
                $"ONNX Runtime failed to run the model to measure tensor shapes for the FPS estimate: {ex.Message.Split('\n')[0].Trim()}", ex);
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }

        return new TensorShapes(shapes);
    }
}
