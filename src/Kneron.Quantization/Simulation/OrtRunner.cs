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

    /// <summary>Element type of every output the session exposes.</summary>
    public IReadOnlyDictionary<string, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType> OutputTypes =>
        _session.OutputMetadata.ToDictionary(kv => kv.Key, kv => kv.Value.ElementDataType);

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
                // No type given: ONNX Runtime infers it, which is how non-float tensors are told apart.
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
    /// Runs one sample and hands each requested output's values to
    /// <paramref name="consume"/> while the native buffers are alive.
    /// </summary>
    public void Run(Sample sample, IReadOnlyList<string> outputNames, Action<string, ReadOnlySpan<float>> consume)
    {
        // A model input cannot be fetched as a session output; its values are the sample's own.
        var sessionOutputs = new List<string>(outputNames.Count);
        foreach (var name in outputNames)
        {
            if (sample.Inputs.TryGetValue(name, out var inputValues))
            {
                consume(name, inputValues);
            }
            else
            {
                sessionOutputs.Add(name);
            }
        }

        var values = new List<OrtValue>();
        try
        {
            foreach (var input in _inputs)
            {
                values.Add(OrtValue.CreateTensorValueFromMemory(sample.Inputs[input.Name], input.Shape.ToArray()));
            }

            IDisposableReadOnlyCollection<OrtValue> results;
            try
            {
                results = _session.Run(_runOptions, _inputs.Select(i => i.Name).ToList(), values, sessionOutputs);
            }
            catch (OnnxRuntimeException ex)
            {
                throw new KnqException(ModelCodes.RuntimeRejectedModel, new SourceLocation(sample.Sources.FirstOrDefault() ?? ""),
                    $"ONNX Runtime failed to run the model on this sample: {FirstLine(ex.Message)}", ex);
            }

            using (results)
            {
                int i = 0;
                foreach (var result in results)
                {
                    consume(sessionOutputs[i++], result.GetTensorDataAsSpan<float>());
                }
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
