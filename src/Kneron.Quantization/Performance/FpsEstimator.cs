using System.Globalization;
using Kneron.Quantization.Config;
using Kneron.Quantization.Model;
using Kneron.Quantization.Planning;

namespace Kneron.Quantization.Performance;

/// <summary>
/// Estimates NPU frames per second with a per-layer roofline: each NPU node
/// takes max(MACs / (MACs per cycle × clock × bit-width factor × compute
/// efficiency), DRAM bytes / (bandwidth × memory efficiency)) seconds, and
/// FPS = 1 / Σ time over NPU nodes. CPU nodes are excluded. DRAM bytes come
/// from <see cref="LayerWork.Of"/>: tensors at their stored widths, minus
/// the activations the on-chip buffer keeps between consecutive layers.
/// </summary>
public static class FpsEstimator
{
    /// <param name="graph">The normalized graph the plan was made on.</param>
    /// <param name="shapes">Every tensor's shape at the fixed input shapes.</param>
    /// <param name="plan">The plan whose bit widths the estimate is for.</param>
    public static FpsEstimate Estimate(OnnxGraph graph, TensorShapes shapes, QuantPlan plan, Platform platform) =>
        Estimate(graph, shapes, plan, PlatformParameters.For(platform));

    /// <summary>Estimates with explicit parameters, such as candidate values during a fit.</summary>
    public static FpsEstimate Estimate(OnnxGraph graph, TensorShapes shapes, QuantPlan plan, PlatformParameters parameters) =>
        Estimate(LayerWork.Of(graph, shapes, plan, (long)parameters.OnChipBufferBytes.Value), parameters);

    /// <summary>
    /// Estimates from work already computed. The work must have been computed
    /// with the buffer size of <paramref name="parameters"/>; a fit that varies
    /// only the efficiencies computes it once.
    /// </summary>
    public static FpsEstimate Estimate(IReadOnlyList<LayerWork> work, PlatformParameters parameters)
    {
        var estimates = new List<LayerEstimate>(work.Count);
        foreach (var layer in work)
        {
            var (computeSeconds, memorySeconds) = Seconds(layer, parameters);
            double seconds = Math.Max(computeSeconds, memorySeconds);
            Bound? bound = null;
            if (seconds > 0)
            {
                bound = computeSeconds >= memorySeconds ? Bound.Compute : Bound.Memory;
            }

            estimates.Add(new LayerEstimate(layer.Node, layer.OpType, layer.Category, layer.Macs, layer.DramBytes, seconds * 1000, bound));
        }

        double timeMs = estimates.Sum(e => e.TimeMs);
        double fps = timeMs > 0 ? 1000 / timeMs : double.PositiveInfinity;
        return new FpsEstimate(parameters.Platform, fps, timeMs, estimates, Assumptions(parameters, work.Count(l => l.Category == "cpu")));
    }

    /// <summary>The FPS of <see cref="Estimate(IReadOnlyList{LayerWork}, PlatformParameters)"/> without the per-layer rows, for fits that try many parameter values.</summary>
    public static double Fps(IReadOnlyList<LayerWork> work, PlatformParameters parameters)
    {
        double seconds = 0;
        foreach (var layer in work)
        {
            var (computeSeconds, memorySeconds) = Seconds(layer, parameters);
            seconds += Math.Max(computeSeconds, memorySeconds);
        }

        return seconds > 0 ? 1 / seconds : double.PositiveInfinity;
    }

    /// <summary>The layer's compute time and DRAM time in seconds; the roofline takes the larger.</summary>
    private static (double Compute, double Memory) Seconds(LayerWork layer, PlatformParameters parameters) =>
        (layer.Macs / (parameters.EffectiveInt8MacsPerSecond * ThroughputFactor(parameters, layer.OperandBits, layer.WeightBits)),
         layer.DramBytes / parameters.EffectiveBandwidthBytesPerSecond);

    /// <summary>
    /// Throughput relative to int8 × int8: a 16-bit operand (data input or
    /// weight) runs at the int16 factor, int4 weights with 8-bit data at the
    /// int4 factor.
    /// </summary>
    public static double ThroughputFactor(PlatformParameters parameters, int operandBits, int weightBits)
    {
        if (operandBits > 8 || weightBits > 8)
        {
            return parameters.Int16ThroughputFactor.Value;
        }

        return weightBits <= 4 ? parameters.Int4ThroughputFactor.Value : 1.0;
    }

    private static List<string> Assumptions(PlatformParameters parameters, int cpuNodeCount)
    {
        var list = new List<string>
        {
            "Estimate from a per-layer roofline on published and assumed platform figures, not a measurement on hardware.",
            cpuNodeCount == 0
                ? "NPU time only; the model has no CPU nodes."
                : $"NPU time only; {cpuNodeCount} CPU node(s) are excluded.",
            "Weights are read from DRAM once per inference, or once per tile when a layer's input and weights both exceed half the on-chip buffer. "
                + "An activation stays on chip when the next NPU node is its only reader and both of their outputs fit in the buffer; every other activation goes through DRAM.",
            "Kneron's per-operator conditions (kernel, stride, rank limits) are not checked.",
        };
        foreach (var (name, parameter) in parameters.Named().Where(p => p.Parameter.Basis != "published"))
        {
            list.Add(string.Create(CultureInfo.InvariantCulture, $"{name} = {parameter.Value:G4} ({parameter.Basis}): {parameter.Source}"));
        }

        return list;
    }
}
