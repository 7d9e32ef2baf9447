using Kneron.Quantization.Calibration;
using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;
using Kneron.Quantization.Planning;
using Kneron.Quantization.Simulation;

namespace Kneron.Quantization.Analysis;

/// <summary>
/// Measures configurations against the float references kept in a
/// <see cref="ReferenceStore"/>: trials of auto and mixbw on the simulation
/// graph, and the final configuration on the quantized model itself.
/// </summary>
internal static class TrialRunner
{
    /// <summary>
    /// Per-layer SNR is measured on at most this many evaluation samples (the
    /// first ones), because the accumulated SNR needs every layer's float value,
    /// too large to keep for all samples. Output SNR uses every sample.
    /// </summary>
    public const int LayerReferenceSamples = 4;

    /// <summary>The minimum SNR in dB over the evaluated outputs of one configuration, on the first <paramref name="count"/> samples.</summary>
    public static double MinimumSnr(SimulationGraph simulation, QuantPlan plan, Func<string, BitWidth, double> threshold,
        ReferenceStore references, IEnumerable<Sample> samples, int count)
    {
        using var parameters = simulation.Parameters(plan, threshold);
        var names = references.Names;
        var accumulators = names.ToDictionary(n => n, _ => new SnrAccumulator());
        int index = 0;
        foreach (var sample in samples.Take(count))
        {
            var reference = references.Read(index++);
            using var simulated = simulation.Run(sample, names, parameters);
            foreach (var name in names)
            {
                AddChecked(accumulators[name], name, reference[name], simulated[name], sample);
            }
        }

        return accumulators.Values.Select(a => a.SnrDb).Where(s => !double.IsNaN(s)).DefaultIfEmpty(double.PositiveInfinity).Min();
    }

    /// <summary>
    /// Measures the final configuration on the quantized model itself, so the
    /// SNR reported is the artifact's. Output SNR covers every sample. The local
    /// and accumulated SNR of each quantized activation cover the first
    /// <see cref="LayerReferenceSamples"/> samples, on which the float model runs
    /// again for the per-layer references.
    /// </summary>
    public static (List<OutputSnr> Outputs, Dictionary<string, (SnrAccumulator Accumulated, SnrAccumulator Local)> Layers) MeasureWithLayers(
        QdqModel quantized, IReadOnlyList<ModelInput> inputs, OrtRunner floatRunner, IReadOnlyDictionary<string, string> evaluated,
        ReferenceStore references, QuantConfig config)
    {
        var activations = quantized.ActivationTensors;
        var layerFloatNames = activations.Keys.ToList();
        var simulatedNames = references.Names
            .Concat(activations.Values.SelectMany(a => new[] { a.Float, a.Quantized }))
            .Distinct()
            .ToList();

        var outputAccumulators = references.Names.ToDictionary(t => t, _ => new SnrAccumulator());
        var layerAccumulators = activations.Keys.ToDictionary(t => t, _ => (Accumulated: new SnrAccumulator(), Local: new SnrAccumulator()));

        using var simulation = OrtRunner.Create(quantized.Graph, inputs, simulatedNames, simulateQuantization: true);
        int index = 0;
        foreach (var sample in references.Samples())
        {
            var reference = references.Read(index);
            bool perLayer = index < LayerReferenceSamples;
            using var simulated = simulation.Run(sample, perLayer ? simulatedNames : references.Names);
            foreach (var (tensor, accumulator) in outputAccumulators)
            {
                AddChecked(accumulator, tensor, reference[tensor], simulated[tensor], sample);
            }

            if (perLayer)
            {
                using var layerReference = floatRunner.Run(sample, layerFloatNames);
                foreach (var (tensor, (accumulated, local)) in layerAccumulators)
                {
                    var (floatName, quantizedName) = activations[tensor];
                    AddChecked(local, tensor, simulated[floatName], simulated[quantizedName], sample);
                    AddChecked(accumulated, tensor, layerReference[tensor], simulated[quantizedName], sample);
                }
            }

            index++;
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

    public static bool ContainsNonFinite(ReadOnlySpan<float> values)
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

    /// <summary>Adds one tensor's values, rejecting a length change between the float and the quantized run as a coded error.</summary>
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
}
