using Kneron.Quantization.Calibration;
using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;
using Kneron.Quantization.Planning;
using Kneron.Quantization.Simulation;

namespace Kneron.Quantization.Analysis;

/// <summary>
/// Measures configurations on the simulation graph (the trials of auto and mixbw). Float references of the
/// evaluated tensors are computed once per sample and kept (they are small:
/// the model outputs), keyed by the sample's source files, so trying more
/// configurations costs only simulation runs.
/// </summary>
internal sealed class TrialRunner
{
    private readonly SimulationGraph _simulation;
    private readonly OrtRunner _floatRunner;
    private readonly QuantPlanner _planner;
    private readonly IReadOnlyDictionary<string, string> _evaluated;
    private readonly Func<string, BitWidth, double> _threshold;
    private readonly Dictionary<string, Dictionary<string, float[]>> _references = new();

    public TrialRunner(SimulationGraph simulation, OrtRunner floatRunner, QuantPlanner planner,
        IReadOnlyDictionary<string, string> evaluated, Func<string, BitWidth, double> threshold)
    {
        _simulation = simulation;
        _floatRunner = floatRunner;
        _planner = planner;
        _evaluated = evaluated;
        _threshold = threshold;
    }

    private IReadOnlyList<string> EvaluatedNames => _evaluated.Values.Distinct().ToList();

    /// <summary>The minimum SNR in dB over the evaluated outputs of one configuration.</summary>
    public double MinimumSnr(BitwidthSettings settings, IEnumerable<Sample> samples)
    {
        var plan = _planner.Plan(settings);
        using var parameters = _simulation.Parameters(plan, _threshold);
        var names = EvaluatedNames;
        var accumulators = names.ToDictionary(n => n, _ => new SnrAccumulator());
        foreach (var sample in samples)
        {
            var reference = Reference(sample);
            using var simulated = _simulation.Run(sample, names, parameters);
            foreach (var name in names)
            {
                AddChecked(accumulators[name], name, reference[name], simulated[name], sample);
            }
        }

        return accumulators.Values.Select(a => a.SnrDb).Where(s => !double.IsNaN(s)).DefaultIfEmpty(double.PositiveInfinity).Min();
    }

    /// <summary>
    /// Measures the final configuration on the quantized model itself, so the
    /// SNR reported is the artifact's: SNR of each evaluated output and, per
    /// quantized activation, the accumulated and local SNR. Runs the float
    /// model again on each sample for the per-layer references.
    /// </summary>
    public static (List<OutputSnr> Outputs, Dictionary<string, (SnrAccumulator Accumulated, SnrAccumulator Local)> Layers) MeasureWithLayers(
        QdqModel quantized, IReadOnlyList<ModelInput> inputs, OrtRunner floatRunner, IReadOnlyDictionary<string, string> evaluated, SampleSet samples, QuantConfig config)
    {
        var activations = quantized.ActivationTensors;
        var floatNames = evaluated.Values.Concat(activations.Keys).Distinct().ToList();
        var simulatedNames = evaluated.Values
            .Concat(activations.Values.SelectMany(a => new[] { a.Float, a.Quantized }))
            .Distinct()
            .ToList();

        var outputAccumulators = evaluated.Values.Distinct().ToDictionary(t => t, _ => new SnrAccumulator());
        var layerAccumulators = activations.Keys.ToDictionary(t => t, _ => (Accumulated: new SnrAccumulator(), Local: new SnrAccumulator()));

        using var simulation = OrtRunner.Create(quantized.Graph, inputs, simulatedNames, simulateQuantization: true);
        foreach (var sample in samples.Enumerate())
        {
            using var reference = floatRunner.Run(sample, floatNames);
            foreach (var tensor in outputAccumulators.Keys)
            {
                if (ContainsNonFinite(reference[tensor]))
                {
                    throw NonFinite(tensor, sample);
                }
            }

            using var simulated = simulation.Run(sample, simulatedNames);
            foreach (var (tensor, accumulator) in outputAccumulators)
            {
                AddChecked(accumulator, tensor, reference[tensor], simulated[tensor], sample);
            }

            foreach (var (tensor, (accumulated, local)) in layerAccumulators)
            {
                var (floatName, quantizedName) = activations[tensor];
                AddChecked(accumulated, tensor, reference[tensor], simulated[quantizedName], sample);
                AddChecked(local, tensor, simulated[floatName], simulated[quantizedName], sample);
            }
        }

        var outputs = new List<OutputSnr>();
        foreach (var (output, tensor) in evaluated)
        {
            var snr = outputAccumulators[tensor].SnrDb;
            if (double.IsNaN(snr))
            {
                throw new KnqException(SimulationCodes.ZeroSignal, new SourceLocation(config.FilePath, 1, 1),
                    $"Output '{tensor}' is zero on every evaluation sample, so its SNR is undefined. Check the preprocessing (mean, std, channel_order) or evaluate other tensors with evaluation.outputs.");
            }

            outputs.Add(new OutputSnr(output, tensor, snr));
        }

        return (outputs, layerAccumulators);
    }

    private Dictionary<string, float[]> Reference(Sample sample)
    {
        var key = string.Join("\n", sample.Sources);
        if (_references.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var names = EvaluatedNames;
        using var outputs = _floatRunner.Run(sample, names);
        var values = new Dictionary<string, float[]>();
        foreach (var name in names)
        {
            var span = outputs[name];
            if (ContainsNonFinite(span))
            {
                throw NonFinite(name, sample);
            }

            values[name] = span.ToArray();
        }

        _references[key] = values;
        return values;
    }

    /// <summary>
    /// Adds one sample's values to <paramref name="accumulator"/>. A quantized tensor of another
    /// length than the float one means quantization changed a shape computed from data (a Range
    /// or Loop bound, a NonZero count), which the SNR cannot compare, so it is a coded error.
    /// </summary>
    private static void AddChecked(SnrAccumulator accumulator, string tensor, ReadOnlySpan<float> reference, ReadOnlySpan<float> quantized, Sample sample)
    {
        if (reference.Length != quantized.Length)
        {
            throw new KnqException(SimulationCodes.QuantizedShapeChanged, new SourceLocation(sample.Sources.FirstOrDefault() ?? ""),
                $"Tensor '{tensor}' has {reference.Length} values in the float model but {quantized.Length} in the quantized simulation on this sample: "
                + "quantization changed a shape that the model computes from data (such as a Range or Loop bound, or a NonZero count). "
                + "Keep those computations in float by feeding them from constants, or evaluate other tensors with evaluation.outputs.");
        }

        accumulator.Add(reference, quantized);
    }

    private static bool ContainsNonFinite(ReadOnlySpan<float> values)
    {
        foreach (var v in values)
        {
            if (!float.IsFinite(v))
            {
                return true;
            }
        }

        return false;
    }

    public static KnqException NonFinite(string tensor, Sample sample) =>
        sample.Inputs.ContainsKey(tensor)
            ? new(SimulationCodes.NonFiniteFloatOutput, new SourceLocation(sample.Sources.FirstOrDefault() ?? ""),
                $"This sample holds NaN or infinite values for model input '{tensor}'. Replace the file or fix the tool that wrote it.")
            : new(SimulationCodes.NonFiniteFloatOutput, new SourceLocation(sample.Sources.FirstOrDefault() ?? ""),
                $"The float model produced NaN or infinite values in tensor '{tensor}' on this sample. Check the sample and its preprocessing; the model cannot be quantized from such values.");
}
