using Kneron.Quantization.Calibration;
using Kneron.Quantization.Diagnostics;
using Kneron.Quantization.Model;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Kneron.Quantization.Simulation;

/// <summary>
/// One ONNX Runtime session over a model whose intermediate tensors are
/// exposed as extra graph outputs, so a single run returns any of them.
/// </summary>
public sealed class OrtRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly IReadOnlyList<ModelInput> _inputs;
    private readonly RunOptions _runOptions = new();

    private OrtRunner(InferenceSession session, IReadOnlyList<ModelInput> inputs)
    {
        _session = session;
        _inputs = inputs;
    }

    /// <summary>
    /// Element type of every tensor output the session exposes. Sequence, map and optional
    /// outputs are left out: they have no element type, and nothing quantizes them.
    /// </summary>
    public IReadOnlyDictionary<string, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType> OutputTypes =>
        _session.OutputMetadata
            .Where(kv => kv.Value.OnnxValueType == OnnxValueType.ONNX_TYPE_TENSOR)
            .ToDictionary(kv => kv.Key, kv => kv.Value.ElementDataType);

    /// <summary>
    /// Creates a session for <paramref name="graph"/> with the given tensors
    /// added as outputs (null: every node output). The graph itself is not changed.
    /// </summary>
    /// <param name="simulateQuantization">
    /// Turns off ONNX Runtime's fusion of QuantizeLinear/DequantizeLinear pairs into
    /// integer kernels, so every quantized tensor is simulated as quantize → dequantize
    /// in float, the same way whatever its bit width.
    /// </param>
    public static OrtRunner Create(OnnxGraph graph, IReadOnlyList<ModelInput> inputs, IEnumerable<string>? extraOutputs, bool simulateQuantization)
    {
        var model = graph.Model.Clone();
        var outputs = model.Graph.Output.Select(o => o.Name).ToHashSet();
        var wanted = extraOutputs ?? model.Graph.Node.SelectMany(n => n.Output).Where(o => o.Length > 0);
        foreach (var name in wanted)
        {
            if (outputs.Add(name))
            {
                // No type given: ONNX Runtime infers it, which is how non-float tensors are found.
                model.Graph.Output.Add(new ValueInfoProto { Name = name });
            }
        }

        var options = new SessionOptions
        {
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        if (simulateQuantization)
        {
            options.AddSessionConfigEntry("session.disable_quant_qdq", "1");
        }

        try
        {
            var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(model), options);
            return new OrtRunner(session, inputs);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new KnqException(ModelCodes.RuntimeRejectedModel, new SourceLocation(graph.Path),
                $"ONNX Runtime could not load {(simulateQuantization ? "the quantized simulation of " : "")}the model: {FirstLine(ex.Message)}", ex);
        }
        finally
        {
            options.Dispose();
        }
    }

    /// <summary>
    /// Runs one sample and returns the requested tensors. The values stay in
    /// ONNX Runtime's buffers until the result is disposed, so nothing is copied.
    /// </summary>
    /// <param name="parameters">Further graph inputs, such as the simulation's scales, owned by the caller.</param>
    public OrtOutputs Run(Sample sample, IReadOnlyList<string> outputNames, IReadOnlyList<KeyValuePair<string, OrtValue>>? parameters = null)
    {
        // A model input cannot be fetched as a session output; its values are the sample's own.
        var sessionOutputs = outputNames.Where(name => !sample.Inputs.ContainsKey(name)).ToList();

        var values = new List<OrtValue>();
        try
        {
            var source = sample.Sources.FirstOrDefault() ?? "";
            foreach (var input in _inputs)
            {
                var type = _session.InputMetadata[input.Name].ElementDataType;
                values.Add(InputTensors.Create(input.Name, type, sample.Inputs[input.Name], input.Shape.ToArray(), source));
            }

            if (sessionOutputs.Count == 0)
            {
                // Every requested tensor is a model input, and ONNX Runtime rejects a run that fetches nothing.
                return new OrtOutputs(sample, sessionOutputs, null);
            }

            try
            {
                var inputNames = _inputs.Select(i => i.Name).ToList();
                var inputValues = new List<OrtValue>(values);
                foreach (var (name, value) in parameters ?? Array.Empty<KeyValuePair<string, OrtValue>>())
                {
                    inputNames.Add(name);
                    inputValues.Add(value);
                }

                var results = _session.Run(_runOptions, inputNames, inputValues, sessionOutputs);
                return new OrtOutputs(sample, sessionOutputs, results);
            }
            catch (OnnxRuntimeException ex)
            {
                throw new KnqException(ModelCodes.RuntimeRejectedModel, new SourceLocation(sample.Sources.FirstOrDefault() ?? ""),
                    $"ONNX Runtime failed to run the model on this sample: {FirstLine(ex.Message)}", ex);
            }
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}

/// <summary>The tensors one run returned, readable by name until disposed.</summary>
public sealed class OrtOutputs : IDisposable
{
    private readonly Sample _sample;
    private readonly Dictionary<string, OrtValue> _values = new();
    private readonly IDisposableReadOnlyCollection<OrtValue>? _results;

    /// <param name="results">The session's outputs, in the order of <paramref name="names"/>; null when the run fetched nothing.</param>
    internal OrtOutputs(Sample sample, IReadOnlyList<string> names, IDisposableReadOnlyCollection<OrtValue>? results)
    {
        _sample = sample;
        _results = results;
        int i = 0;
        foreach (var value in results ?? Enumerable.Empty<OrtValue>())
        {
            _values[names[i++]] = value;
        }
    }

    /// <summary>The tensor's shape; for a model input, null (its shape is the input's).</summary>
    public long[]? Shape(string name) =>
        _values.TryGetValue(name, out var value) ? value.GetTensorTypeAndShape().Shape : null;

    public ReadOnlySpan<float> this[string name] =>
        _sample.Inputs.TryGetValue(name, out var input) ? input : _values[name].GetTensorDataAsSpan<float>();

    public void Dispose() => _results?.Dispose();
}
