using System.Diagnostics;
using System.Security.Cryptography;
using Kneron.Quantization.Calibration;
using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;
using Kneron.Quantization.Model;
using Kneron.Quantization.Performance;
using Kneron.Quantization.Planning;
using Kneron.Quantization.Ranges;
using Kneron.Quantization.Simulation;

namespace Kneron.Quantization.Analysis;

/// <summary>
/// Runs the quantization analysis of one model: load and normalize the
/// graph, plan which tensors to quantize, calibrate their ranges with a float
/// pass over the calibration samples, build the QDQ model, and measure the
/// SNR of each output with a second float pass and one pass of the quantized
/// simulation over the evaluation samples.
/// </summary>
public sealed class Analyzer
{
    private readonly IDiagnosticSink _diagnostics;
    private readonly Action<string> _log;

    /// <param name="diagnostics">Receives warnings.</param>
    /// <param name="log">Receives progress messages (one line each).</param>
    public Analyzer(IDiagnosticSink diagnostics, Action<string>? log = null)
    {
        _diagnostics = diagnostics;
        _log = log ?? (_ => { });
    }

    public AnalysisResult Analyze(string modelPath, QuantConfig config)
    {
        var stopwatch = Stopwatch.StartNew();
        var bits = ModeResolver.Resolve(config);

        var graph = OnnxGraph.Load(modelPath);
        var modelSha256 = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(graph.Path)));
        var inputs = GraphNormalizer.Normalize(graph, config);

        var calibration = SampleSetLoader.Load(config, config.Calibration, inputs);
        var evaluation = config.Evaluation is null ? null : SampleSetLoader.Load(config, config.Evaluation, inputs);
        _log($"Calibrating on {calibration.Count} samples{(evaluation is null ? "" : $", evaluating on {evaluation.Count}")}.");

        using var floatRunner = OrtRunner.Create(graph, inputs, extraOutputs: null, simulateQuantization: false);
        var floatTensors = floatRunner.OutputTypes
            .Where(kv => kv.Value == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
            .Select(kv => kv.Key)
            .Concat(inputs.Where(i => i.IsFloat).Select(i => i.Name))
            .ToHashSet();

        var plan = new QuantPlanner(graph, floatTensors, config.Platform.Value).Plan(bits);
        var evaluated = EvaluatedTensors(config, plan, floatTensors);

        _log($"Loaded and planned the model in {stopwatch.Elapsed.TotalSeconds:0.00} s: {plan.Activations.Count} activations and {plan.Constants.Count} constants to quantize.");

        var phase = Stopwatch.StartNew();
        var thresholds = CalibrateRanges(floatRunner, calibration, plan, config);
        _log($"Calibrated ranges in {phase.Elapsed.TotalSeconds:0.00} s.");

        phase.Restart();
        var quantized = QdqModelBuilder.Build(graph, plan, thresholds);
        var (outputs, layerSnr) = MeasureSnr(graph, inputs, floatRunner, quantized, evaluation ?? calibration, evaluated, config);
        _log($"Simulated the quantized model and measured SNR in {phase.Elapsed.TotalSeconds:0.00} s.");
        var layers = plan.Layers.Select(layer => ToLayerResult(layer, plan, layerSnr)).ToList();
        var (fps, modesTried) = PerformanceEstimate.ForSingleMode(graph, inputs, calibration, layers, config, bits, outputs);

        return new AnalysisResult
        {
            ModelPath = graph.Path,
            ModelSha256 = modelSha256,
            Config = config,
            Bits = bits,
            Outputs = outputs,
            Table = quantized.Table,
            Layers = layers,
            CpuNodes = plan.CpuNodes,
            Calibration = calibration,
            Evaluation = evaluation,
            QuantizedModel = quantized,
            Elapsed = stopwatch.Elapsed,
            FpsEstimate = fps,
            ModesTried = modesTried,
        };
    }

    /// <summary>Model output name to evaluated tensor: the config's <c>evaluation.outputs</c>, else the planner's choice.</summary>
    private Dictionary<string, string> EvaluatedTensors(QuantConfig config, QuantPlan plan, IReadOnlySet<string> floatTensors)
    {
        var requested = config.Evaluation?.Outputs;
        if (requested is { Value.Count: > 0 } list)
        {
            foreach (var name in list.Value)
            {
                if (!floatTensors.Contains(name))
                {
                    throw new KnqException(SimulationCodes.UnknownEvaluationTensor, list.Location,
                        $"evaluation.outputs names '{name}', which is not a float tensor of the model. Name model outputs or intermediate float tensors.");
                }
            }

            return list.Value.ToDictionary(name => name, name => name);
        }

        foreach (var (output, tensor) in plan.EvaluatedTensors.Where(kv => kv.Key != kv.Value))
        {
            _diagnostics.Report(new Diagnostic(SimulationCodes.DecisionOutputEvaluatedUpstream, DiagnosticSeverity.Warning, new SourceLocation(config.FilePath, 1, 1),
                $"Output '{output}' is computed through a comparison, so a tiny quantization error flips it; its SNR is measured on '{tensor}' instead. Set evaluation.outputs to choose other tensors."));
        }

        return new Dictionary<string, string>(plan.EvaluatedTensors);
    }

    /// <summary>
    /// Streams the float model over the calibration samples, keeping one
    /// |x| histogram per planned activation, and returns each activation's
    /// clipping threshold: the <c>percentage</c> quantile of |x| for 8-bit
    /// tensors and the <c>percentage_16b</c> quantile for 16-bit ones
    /// (<c>minmax</c> uses the maximum).
    /// </summary>
    private Dictionary<string, double> CalibrateRanges(OrtRunner floatRunner, SampleSet samples, QuantPlan plan, QuantConfig config)
    {
        var histograms = plan.Activations.ToDictionary(a => a.Tensor, _ => new AbsHistogram());
        var names = histograms.Keys.ToList();
        foreach (var sample in samples.Enumerate())
        {
            using var outputs = floatRunner.Run(sample, names);
            foreach (var name in names)
            {
                var histogram = histograms[name];
                long before = histogram.NonFiniteCount;
                histogram.Add(outputs[name]);
                if (histogram.NonFiniteCount > before)
                {
                    throw NonFinite(name, sample);
                }
            }
        }

        bool minmax = config.DatapathRangeMethod.Value == RangeMethod.Minmax;
        return plan.Activations.ToDictionary(
            a => a.Tensor,
            a => histograms[a.Tensor].Quantile(minmax ? 1.0 : a.Bits == BitWidth.Int16 ? config.Percentage16b.Value : config.Percentage.Value));
    }

    private (List<OutputSnr> Outputs, Dictionary<string, (SnrAccumulator Accumulated, SnrAccumulator Local)> Layers) MeasureSnr(
        OnnxGraph graph, IReadOnlyList<ModelInput> inputs, OrtRunner floatRunner, QdqModel quantized, SampleSet samples,
        IReadOnlyDictionary<string, string> evaluated, QuantConfig config)
    {
        var activations = quantized.ActivationTensors;
        var floatNames = evaluated.Values.Concat(activations.Keys).Distinct().ToList();
        var simulatedNames = evaluated.Values
            .Concat(activations.Values.SelectMany(a => new[] { a.Float, a.Quantized }))
            .Distinct()
            .ToList();

        using var simulation = OrtRunner.Create(quantized.Graph, inputs, simulatedNames, simulateQuantization: true);

        var outputAccumulators = evaluated.Values.Distinct().ToDictionary(t => t, _ => new SnrAccumulator());
        var layerAccumulators = activations.Keys.ToDictionary(t => t, _ => (Accumulated: new SnrAccumulator(), Local: new SnrAccumulator()));

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
                accumulator.Add(reference[tensor], simulated[tensor]);
            }

            foreach (var (tensor, (accumulated, local)) in layerAccumulators)
            {
                var (floatName, quantizedName) = activations[tensor];
                accumulated.Add(reference[tensor], simulated[quantizedName]);
                local.Add(simulated[floatName], simulated[quantizedName]);
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

    private static LayerResult ToLayerResult(LayerInfo layer, QuantPlan plan,
        IReadOnlyDictionary<string, (SnrAccumulator Accumulated, SnrAccumulator Local)> layerSnr)
    {
        var activation = layer.OutputTensor is null ? null : plan.Activations.FirstOrDefault(a => a.Tensor == layer.OutputTensor);
        var weight = layer.WeightInitializer is null ? null : plan.Constants.FirstOrDefault(c => c.Initializer == layer.WeightInitializer);
        double? snr = null, local = null;
        if (activation is not null && layerSnr.TryGetValue(activation.Tensor, out var accumulators))
        {
            snr = Finite(accumulators.Accumulated.SnrDb);
            local = Finite(accumulators.Local.SnrDb);
        }

        return new LayerResult(layer.Node, layer.OpType, layer.Category, (int?)activation?.Bits, (int?)weight?.Bits, activation?.Tensor, snr, local);
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

    /// <summary>NaN (no signal) becomes null; +∞ (no noise) stays.</summary>
    private static double? Finite(double value) => double.IsNaN(value) ? null : value;

    private static KnqException NonFinite(string tensor, Sample sample) =>
        new(SimulationCodes.NonFiniteFloatOutput, new SourceLocation(sample.Sources.FirstOrDefault() ?? ""),
            $"The float model produced NaN or infinite values in tensor '{tensor}' on this sample. Check the sample and its preprocessing; the model cannot be quantized from such values.");
}
