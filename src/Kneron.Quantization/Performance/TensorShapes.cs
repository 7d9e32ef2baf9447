using Kneron.Quantization.Calibration;
using Kneron.Quantization.Model;
using Kneron.Quantization.Simulation;

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

    /// <summary>Runs <paramref name="graph"/> once on <paramref name="sample"/> in a session of its own and records every tensor's shape.</summary>
    public static TensorShapes Measure(OnnxGraph graph, IReadOnlyList<ModelInput> inputs, Sample sample)
    {
        using var runner = OrtRunner.Create(graph, inputs, extraOutputs: null, simulateQuantization: false);
        return Measure(graph, inputs, runner, sample);
    }

    /// <summary>
    /// Records every tensor's shape from one run of <paramref name="floatRunner"/>
    /// (a session exposing every node output) on <paramref name="sample"/>.
    /// </summary>
    public static TensorShapes Measure(OnnxGraph graph, IReadOnlyList<ModelInput> inputs, OrtRunner floatRunner, Sample sample)
    {
        var names = floatRunner.OutputTypes.Keys.ToList();
        using var outputs = floatRunner.Run(sample, names);
        return From(graph, inputs, outputs, names);
    }

    /// <summary>Records the shapes of the named tensors of a run that fetched them, plus initializers and inputs.</summary>
    public static TensorShapes From(OnnxGraph graph, IReadOnlyList<ModelInput> inputs, OrtOutputs outputs, IEnumerable<string> names)
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

        foreach (var name in names.Where(n => !shapes.ContainsKey(n)))
        {
            if (outputs.Shape(name) is { } shape)
            {
                shapes[name] = shape;
            }
        }

        return new TensorShapes(shapes);
    }
}
