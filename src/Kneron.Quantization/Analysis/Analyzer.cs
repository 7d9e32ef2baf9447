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
/// Runs the quantization analysis of one model. It loads and normalizes the
/// graph, plans which tensors to quantize, and calibrates their ranges in one
/// float pass over the calibration samples, which also stores the float
/// outputs. It then chooses the bit widths of the configured mode and
/// measures the SNR of each output and layer in one pass of the quantized
/// model over the evaluation samples. The mixed modes and <c>auto</c> add
/// simulation passes (see <see cref="MixBwSearch"/>), all on one simulation session.
/// </summary>
public sealed class Analyzer
{
    /// <summary>
    /// mixbw ranks its candidates on at most this many evaluation samples
    /// (the first ones), since it runs one simulation per candidate and sample.
    /// </summary>
    public const int SensitivitySamples = 4;

    private readonly IDiagnosticSink _diagnostics;
    private readonly Action<string> _log;

    /// <param name="diagnostics">Receives warnings.</param>
    /// <param name="log">Receives progress messages (one line each).</param>
    public Analyzer(IDiagnosticSink diagnostics, Action<string>? log = null)
    {
        _diagnostics = diagnostics;
        _log = log ?? (_ => { });
    }

    /// <param name="sweep">
    /// Try every mode the platform runs, as <c>auto</c> does but without stopping
    /// at the first that passes, whatever modes the config names. The result
    /// keeps the cheapest passing mode, or int16 everywhere when none passes.
    /// </param>
    public AnalysisResult Analyze(string modelPath, QuantConfig config, bool sweep = false)
    {
        var stopwatch = Stopwatch.StartNew();
        var request = ModeResolver.Resolve(config, _diagnostics);

        var graph = OnnxGraph.Load(modelPath);
        ModelChecks.RejectUnknownDomains(graph);
        ModelChecks.RequireInputs(graph);
        ModelChecks.MakeNodeNamesUnique(graph, _diagnostics);
        ModelChecks.WarnAboutControlFlow(graph, _diagnostics);
        var modelSha256 = Cache.FileHashes.Sha256(graph.Path);
        var inputs = GraphNormalizer.Normalize(graph, config);

        var calibration = SampleSetLoader.Load(config, config.Calibration, inputs);
        var evaluation = config.Evaluation is null ? null : SampleSetLoader.Load(config, config.Evaluation, inputs);
        _log($"Calibrating on {Count(calibration.Count, "sample")}{(evaluation is null ? "" : $", evaluating on {Count(evaluation.Count, "sample")}")}.");

        using var floatRunner = OrtRunner.Create(graph, inputs, extraOutputs: null, simulateQuantization: false);
        var floatTensors = floatRunner.OutputTypes
            .Where(kv => kv.Value == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
            .Select(kv => kv.Key)
            .Concat(inputs.Where(i => i.IsFloat).Select(i => i.Name))
            .ToHashSet();

        var planner = new QuantPlanner(graph, floatTensors, config.Platform.Value);
        var structure = planner.Plan(BitwidthSettings.Uniform(BitWidth.Int8));
        ModelChecks.RequireQuantizableTensors(graph, structure.Activations.Count);
        var evaluated = EvaluatedTensors(config, structure, floatTensors);
        _log($"Loaded and planned the model in {stopwatch.Elapsed.TotalSeconds:0.00} s: {structure.Activations.Count} activations and {structure.Constants.Count} constants to quantize.");

        var phase = Stopwatch.StartNew();
        using var references = new ReferenceStore(evaluated.Values.Distinct().ToList());
        var (ranges, shapes) = Calibrate(graph, inputs, floatRunner, calibration, structure, ConcatRangeCheck.Inputs(graph, floatTensors),
            references, storeReferences: evaluation is null);
        ConcatRangeCheck.Report(graph, ranges, config.DatapathRangeMethod.Value == RangeMethod.Minmax ? 1.0 : config.Percentage.Value, _diagnostics);
        if (evaluation is not null)
        {
            StoreReferences(floatRunner, evaluation, references);
        }

        var convs = ConvCosts(structure, shapes);
        double Threshold(string tensor, BitWidth bits) => ranges[tensor].Quantile(
            config.DatapathRangeMethod.Value == RangeMethod.Minmax ? 1.0
            : bits == BitWidth.Int16 ? config.Percentage16b.Value
            : config.Percentage.Value);
        FpsEstimate Estimate(QuantPlan estimatedPlan) => FpsEstimator.Estimate(graph, shapes, estimatedPlan, config.Platform.Value);
        _log($"Calibrated ranges in {phase.Elapsed.TotalSeconds:0.00} s.");

        phase.Restart();
        double FpsOf(BitwidthSettings candidate)
        {
            return Estimate(planner.Plan(candidate)).Fps;
        }

        var earlierTrials = new List<ModeTrial>();
        var (chosen, settings, modesTried, sensitivity) = ChooseMode(request, config, graph, inputs, structure, convs, planner, references, evaluated, Threshold, FpsOf, sweep, earlierTrials);
        _log($"Chose {chosen.Name} in {phase.Elapsed.TotalSeconds:0.00} s.");
        var modeChoice = !sweep ? (request.Datapath == BitwidthMode.Auto ? ModeChoice.Auto : ModeChoice.Configured)
            : modesTried.Any(t => t.Chosen) ? ModeChoice.SweepCheapestPassing
            : ModeChoice.SweepNonePassed;

        // Builds the QDQ model of the chosen widths and measures it: the figures the build reports.
        (QuantPlan Plan, QdqModel Quantized, List<OutputSnr> Outputs, Dictionary<string, (SnrAccumulator Accumulated, SnrAccumulator Local)> LayerSnr, FpsEstimate Fps, double MinimumSnr) MeasureQuantized(BitwidthSettings chosenSettings)
        {
            var chosenPlan = planner.Plan(QuanConfigOverrides.Apply(chosenSettings, config, structure));
            var thresholds = chosenPlan.Activations.ToDictionary(a => a.Tensor, a => Threshold(a.Tensor, a.Bits));
            var model = QdqModelBuilder.Build(graph, chosenPlan, thresholds);
            var (measured, perLayer) = TrialRunner.MeasureWithLayers(model, inputs, floatRunner, evaluated, references, config);
            double minimum = measured.Count == 0 ? double.PositiveInfinity : measured.Min(o => o.SnrDb);
            return (chosenPlan, model, measured, perLayer, Estimate(chosenPlan), minimum);
        }

        phase.Restart();
        var final = MeasureQuantized(settings);

        // Auto's and sweep's trials run on the simulation graph, whose SNR can differ from the QDQ model's
        // by up to about 1 dB. When the chosen mode fails on the QDQ model, the next modes are tried.
        int candidateCount = ModeSettings.AutoCandidates(config.Platform.Value, request.ConstIn).Count;
        bool TryNextMode()
        {
            int chosenIndex = modesTried.FindIndex(t => t.Chosen);
            return modeChoice is ModeChoice.Auto or ModeChoice.SweepCheapestPassing
                && final.MinimumSnr < config.SnrThresholdDb.Value
                && chosenIndex >= 0
                && earlierTrials.Count + chosenIndex + 1 < candidateCount;
        }

        while (TryNextMode())
        {
            _log($"{(sweep ? "sweep" : "auto")}: {chosen.Name} measures {Artifacts.ReportWriter.Db(final.MinimumSnr)} on the quantized model, below snr_threshold; trying the next modes.");
            int failedIndex = modesTried.FindIndex(t => t.Chosen);
            earlierTrials.AddRange(modesTried.Take(failedIndex));
            earlierTrials.Add(modesTried[failedIndex] with { SnrDb = final.MinimumSnr, Fps = final.Fps.Fps, Chosen = false });
            (chosen, settings, modesTried, sensitivity) = ChooseMode(request, config, graph, inputs, structure, convs, planner, references, evaluated, Threshold, FpsOf, sweep, earlierTrials);
            if (sweep)
            {
                modeChoice = modesTried.Any(t => t.Chosen) ? ModeChoice.SweepCheapestPassing : ModeChoice.SweepNonePassed;
            }

            final = MeasureQuantized(settings);
        }

        // A sweep is labelled by the final measurement: a widest mode that failed on the simulation
        // graph but passes on the QDQ model is the one passing mode found.
        if (sweep)
        {
            modeChoice = final.MinimumSnr >= config.SnrThresholdDb.Value ? ModeChoice.SweepCheapestPassing : ModeChoice.SweepNonePassed;
        }

        settings = QuanConfigOverrides.Apply(settings, config, structure);
        var (plan, quantized, outputs, layerSnr, fps, finalSnr) = final;
        CpuWidthCheck.Report(config, chosen, modeChoice, plan, _diagnostics);
        var layers = plan.Layers.Select(layer => ToLayerResult(layer, plan, layerSnr)).ToList();
        _log($"Simulated the quantized model and measured SNR in {phase.Elapsed.TotalSeconds:0.00} s.");

        // The chosen mode's entry carries the final SNR, measured on the quantized model itself. The
        // other trials keep their simulation-graph figures. With no passing mode, sweep keeps the last one tried.
        var chosenTrial = new ModeTrial(ModeResolver.ModeName(chosen.Datapath), ModeResolver.ModeName(chosen.Weight), finalSnr, fps.Fps, Chosen: true);
        int chosenIndex = modesTried.FindIndex(t => t.Chosen);
        var allTrials = new List<ModeTrial>(earlierTrials);
        allTrials.AddRange(modesTried);
        if (modesTried.Count == 0)
        {
            allTrials.Add(chosenTrial);
        }
        else
        {
            allTrials[earlierTrials.Count + (chosenIndex >= 0 ? chosenIndex : modesTried.Count - 1)] = chosenTrial;
        }

        return new AnalysisResult
        {
            ModelPath = graph.Path,
            ModelSha256 = modelSha256,
            Config = config,
            Mode = chosen,
            ModeChoice = modeChoice,
            Bits = settings,
            Outputs = outputs,
            Table = quantized.Table,
            Layers = layers,
            CpuNodes = plan.CpuNodes,
            ModesTried = allTrials,
            Sensitivity = sensitivity,
            ConvCosts = convs,
            Calibration = calibration,
            Evaluation = evaluation,
            QuantizedModel = quantized,
            Elapsed = stopwatch.Elapsed,
            FpsEstimate = fps,
        };
    }

    /// <summary>
    /// Resolves the configured mode into per-layer widths. Fixed modes, mix
    /// light and mix balance follow their rules directly; mixbw first ranks
    /// its candidates; auto tries its list in order and keeps the first that
    /// meets <c>snr_threshold</c>, and fails listing them all if none does.
    /// </summary>
    private (ModeRequest Chosen, BitwidthSettings Settings, List<ModeTrial> Tried, IReadOnlyList<SensitivityEntry> Sensitivity) ChooseMode(
        ModeRequest request, QuantConfig config, OnnxGraph graph, IReadOnlyList<ModelInput> inputs, QuantPlan structure, IReadOnlyList<ConvCost> convs,
        QuantPlanner planner, ReferenceStore references, IReadOnlyDictionary<string, string> evaluated, Func<string, BitWidth, double> threshold,
        Func<BitwidthSettings, double> fpsOf, bool sweep, IReadOnlyList<ModeTrial> earlierTrials)
    {
        var tried = new List<ModeTrial>();
        if (!sweep && request.Datapath != BitwidthMode.Auto && !request.UsesMixBw)
        {
            return (request, ModeSettings.For(request, convs, structure, config, null), tried, Array.Empty<SensitivityEntry>());
        }

        // Trials run on one simulation graph whose widths are chosen by its inputs.
        var weightWidths = ModeResolver.AllowedWidths(config.Platform.Value)
            .Where(w => w != BitWidth.Int4 || request.Weight == BitwidthMode.Int4)
            .ToList();
        using var simulation = SimulationGraph.Build(graph, structure, inputs, weightWidths, references.Names);
        double MinimumSnr(BitwidthSettings settings, IEnumerable<Sample> trialSamples, int count) =>
            TrialRunner.MinimumSnr(simulation, planner.Plan(settings), threshold, references, trialSamples, count);
        if (!sweep && request.Datapath != BitwidthMode.Auto)
        {
            var (settings, sensitivity) = Settings(request, config, structure, convs, MinimumSnr, references.Samples());
            return (request, settings, tried, sensitivity);
        }

        (ModeRequest Request, BitwidthSettings Settings, IReadOnlyList<SensitivityEntry> Sensitivity)? best = null;
        (ModeRequest Request, BitwidthSettings Settings, IReadOnlyList<SensitivityEntry> Sensitivity)? last = null;

        double snrThreshold = config.SnrThresholdDb.Value;
        // Auto starts after the modes that already failed on the quantized model itself.
        foreach (var candidate in ModeSettings.AutoCandidates(config.Platform.Value, request.ConstIn).Skip(earlierTrials.Count))
        {
            var (settings, sensitivity) = Settings(candidate, config, structure, convs, MinimumSnr, references.Samples());
            double snr = MinimumSnr(settings, references.Samples(), references.Count);
            bool passed = snr >= snrThreshold;
            double fps = fpsOf(settings);
            bool chosenNow = passed && best is null;
            tried.Add(new ModeTrial(ModeResolver.ModeName(candidate.Datapath), ModeResolver.ModeName(candidate.Weight), snr, fps, Chosen: chosenNow));
            _log($"{(sweep ? "sweep" : "auto")}: {candidate.Name} reaches {Artifacts.ReportWriter.Db(snr)} at an estimated {fps:0} FPS.");
            last = (candidate, settings, sensitivity);
            if (chosenNow)
            {
                best = last;
                if (!sweep)
                {
                    return (candidate, settings, tried, sensitivity);
                }
            }
        }

        if (sweep)
        {
            var kept = best ?? last!.Value;
            return (kept.Request, kept.Settings, tried, kept.Sensitivity);
        }

        throw new KnqException(ModeCodes.NoModeMeetsThreshold, config.SnrThresholdDb.Location,
            $"{ModeMessages.NoModeMeetsThreshold(config.Platform.Value, snrThreshold, earlierTrials.Concat(tried).ToList())} Lower snr_threshold, or improve the calibration set (more and more typical samples, percentage: 1.0 for detection models).");
    }

    private (BitwidthSettings Settings, IReadOnlyList<SensitivityEntry> Sensitivity) Settings(
        ModeRequest request, QuantConfig config, QuantPlan structure, IReadOnlyList<ConvCost> convs,
        Func<BitwidthSettings, IEnumerable<Sample>, int, double> minimumSnr, IEnumerable<Sample> samples)
    {
        if (!request.UsesMixBw)
        {
            return (ModeSettings.For(request, convs, structure, config, null), Array.Empty<SensitivityEntry>());
        }

        var subset = samples.Take(SensitivitySamples).ToList();
        var watch = Stopwatch.StartNew();
        var (selection, ranking) = MixBwSearch.Run(request, convs, structure, config, settings => minimumSnr(settings, subset, subset.Count));
        _log($"mixbw: ranked {ranking.Count} candidates on {subset.Count} samples in {watch.Elapsed.TotalSeconds:0.00} s; {ranking.Count(r => r.Promoted)} promoted to 16 bit.");
        return (ModeSettings.For(request, convs, structure, config, selection), ranking);
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

        // Only float32 outputs are measured, because indices, counts and uint8 data have no SNR.
        return plan.EvaluatedTensors
            .Where(kv => floatTensors.Contains(kv.Value))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    /// <summary>
    /// Streams the float model over the calibration samples, keeping one
    /// |x| histogram per planned activation and per tensor of <paramref name="extraTensors"/>.
    /// The first sample's run fetches every tensor, for the shapes the MAC
    /// counts and the FPS estimate need. With <paramref name="storeReferences"/>,
    /// each sample's evaluated tensors go to the reference store, so the SNR
    /// passes need no second float pass.
    /// </summary>
    private static (Dictionary<string, AbsHistogram> Ranges, TensorShapes Shapes) Calibrate(OnnxGraph graph, IReadOnlyList<ModelInput> inputs,
        OrtRunner floatRunner, SampleSet samples, QuantPlan plan, IEnumerable<string> extraTensors, ReferenceStore references, bool storeReferences)
    {
        var histograms = plan.Activations.ToDictionary(a => a.Tensor, _ => new AbsHistogram());
        foreach (var tensor in extraTensors)
        {
            histograms.TryAdd(tensor, new AbsHistogram());
        }

        var names = histograms.Keys.Union(storeReferences ? references.Names : Array.Empty<string>()).ToList();
        var everyTensor = floatRunner.OutputTypes.Keys.Union(names).ToList();
        TensorShapes? shapes = null;
        foreach (var sample in samples.Enumerate())
        {
            using var outputs = floatRunner.Run(sample, shapes is null ? everyTensor : names);
            shapes ??= TensorShapes.From(graph, inputs, outputs, everyTensor);
            foreach (var (name, histogram) in histograms)
            {
                long before = histogram.NonFiniteCount;
                histogram.Add(outputs[name]);
                if (histogram.NonFiniteCount > before)
                {
                    throw TrialRunner.NonFinite(name, sample);
                }
            }

            if (storeReferences)
            {
                AppendReference(references, outputs, sample);
            }
        }

        return (histograms, shapes!);
    }

    /// <summary>Runs the float model over a separate evaluation set and stores its evaluated tensors.</summary>
    private static void StoreReferences(OrtRunner floatRunner, SampleSet samples, ReferenceStore references)
    {
        foreach (var sample in samples.Enumerate())
        {
            using var outputs = floatRunner.Run(sample, references.Names);
            AppendReference(references, outputs, sample);
        }
    }

    private static void AppendReference(ReferenceStore references, OrtOutputs outputs, Sample sample)
    {
        foreach (var name in references.Names)
        {
            if (TrialRunner.ContainsNonFinite(outputs[name]))
            {
                throw TrialRunner.NonFinite(name, sample);
            }
        }

        references.Append(sample, name => outputs[name]);
    }

    /// <summary>MACs per sample of each Conv: per output element for Conv, per input element for ConvTranspose.</summary>
    private static List<ConvCost> ConvCosts(QuantPlan plan, TensorShapes shapes)
    {
        var costs = new List<ConvCost>();
        foreach (var conv in plan.ConvLayers)
        {
            var tensor = conv.OpType == "ConvTranspose" ? conv.InputTensor : conv.OutputTensor;
            if (shapes.TryGet(tensor, out var shape))
            {
                costs.Add(new ConvCost(conv, shape.Aggregate(1L, (a, b) => a * b) * conv.MacsPerElement));
            }
        }

        return costs;
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

    private static string Count(int count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";

    /// <summary>NaN (no signal) becomes null; +∞ (no noise) stays.</summary>
    private static double? Finite(double value) => double.IsNaN(value) ? null : value;
}
