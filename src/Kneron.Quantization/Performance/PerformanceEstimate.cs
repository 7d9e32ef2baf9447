using Kneron.Quantization.Analysis;
using Kneron.Quantization.Calibration;
using Kneron.Quantization.Config;
using Kneron.Quantization.Model;
using Kneron.Quantization.Planning;

namespace Kneron.Quantization.Performance;

/// <summary>Glue between the analysis and the FPS estimate.</summary>
public static class PerformanceEstimate
{
    /// <summary>
    /// Estimates FPS for the analysed mode, measuring tensor shapes on the
    /// first calibration sample, and returns it with the one-entry
    /// <c>modes_tried</c> list of an analysis that runs a single mode.
    /// </summary>
    public static (FpsEstimate Estimate, IReadOnlyList<ModeTrial> ModesTried) ForSingleMode(
        OnnxGraph graph, IReadOnlyList<ModelInput> inputs, SampleSet calibration, IReadOnlyList<LayerResult> layers,
        QuantConfig config, BitwidthSettings bits, IReadOnlyList<OutputSnr> outputs)
    {
        var shapes = TensorShapes.Measure(graph, inputs, calibration.Enumerate().First());
        var estimate = FpsEstimator.Estimate(graph, shapes, layers, config.Platform.Value, (int)bits.Datapath);
        double snrDb = outputs.Count == 0 ? double.PositiveInfinity : outputs.Min(o => o.SnrDb);
        var trial = new ModeTrial(ModeResolver.ModeName(config.DatapathBitwidthMode.Value), ModeResolver.ModeName(config.WeightBitwidthMode.Value),
            snrDb, estimate.Fps, Chosen: true);
        return (estimate, new[] { trial });
    }
}
