using System.Globalization;
using Kneron.Quantization.Analysis;
using Kneron.Quantization.Config;
using Kneron.Quantization.Model;

namespace Kneron.Quantization.Performance;

/// <summary>
/// Estimates NPU frames per second with a per-layer roofline: each NPU node
/// takes max(MACs / (MACs per cycle × clock × bit-width factor × compute
/// efficiency), bytes moved / (bandwidth × memory efficiency)) seconds, and FPS = 1 / Σ time over NPU nodes.
/// CPU nodes are excluded. Every activation read and write is assumed to go
/// through DRAM, and weights are read once per inference.
/// </summary>
public static class FpsEstimator
{
    /// <param name="graph">The normalized graph the layers were planned on.</param>
    /// <param name="shapes">Every tensor's shape at the fixed input shapes.</param>
    /// <param name="layers">One entry per graph node with its category and bit widths.</param>
    /// <param name="defaultDatapathBits">Width of activations of nodes whose output is not quantized themselves (such as MaxPool, which keeps its input's scale).</param>
    public static FpsEstimate Estimate(OnnxGraph graph, TensorShapes shapes, IReadOnlyList<LayerResult> layers, Platform platform, int defaultDatapathBits) =>
        Estimate(graph, shapes, layers, PlatformParameters.For(platform), defaultDatapathBits);

    /// <summary>Estimates with explicit parameters, such as a candidate efficiency during a fit.</summary>
    public static FpsEstimate Estimate(OnnxGraph graph, TensorShapes shapes, IReadOnlyList<LayerResult> layers, PlatformParameters parameters, int defaultDatapathBits)
    {
        var platform = parameters.Platform;
        var nodesByName = graph.Graph.Node.ToDictionary(OnnxGraph.DisplayName, n => n);

        var estimates = new List<LayerEstimate>();
        foreach (var layer in layers)
        {
            if (layer.Category != "npu" || !nodesByName.TryGetValue(layer.Node, out var node))
            {
                // CPU nodes are excluded; fused nodes run inside the node before them.
                estimates.Add(new LayerEstimate(layer.Node, layer.OpType, layer.Category, 0, 0, 0, null));
                continue;
            }

            var cost = LayerCost.Of(node, graph, shapes);
            int datapathBits = layer.DatapathBits ?? defaultDatapathBits;
            int weightBits = layer.WeightBits ?? 8;
            long bytes = BytesOf(cost.InputElements + cost.OutputElements, datapathBits) + BytesOf(cost.WeightElements, weightBits);

            double computeSeconds = cost.Macs / (parameters.EffectiveInt8MacsPerSecond * ThroughputFactor(parameters, datapathBits, weightBits));
            double memorySeconds = bytes / parameters.EffectiveBandwidthBytesPerSecond;
            double seconds = Math.Max(computeSeconds, memorySeconds);
            Bound? bound = null;
            if (seconds > 0)
            {
                bound = computeSeconds >= memorySeconds ? Bound.Compute : Bound.Memory;
            }
            estimates.Add(new LayerEstimate(layer.Node, layer.OpType, layer.Category, cost.Macs, bytes, seconds * 1000, bound));
        }

        double timeMs = estimates.Sum(e => e.TimeMs);
        double fps = timeMs > 0 ? 1000 / timeMs : double.PositiveInfinity;
        return new FpsEstimate(platform, fps, timeMs, estimates, Assumptions(parameters, layers.Count(l => l.Category == "cpu")));
    }

    /// <summary>
    /// Throughput relative to int8 × int8: a 16-bit datapath or weight runs at
    /// the int16 factor, int4 weights with an 8-bit datapath at the int4 factor.
    /// </summary>
    public static double ThroughputFactor(PlatformParameters parameters, int datapathBits, int weightBits)
    {
        if (datapathBits > 8 || weightBits > 8)
        {
            return parameters.Int16ThroughputFactor.Value;
        }

        return weightBits <= 4 ? parameters.Int4ThroughputFactor.Value : 1.0;
    }

    private static long BytesOf(long elements, int bits) => (elements * bits + 7) / 8;

    private static List<string> Assumptions(PlatformParameters parameters, int cpuNodeCount)
    {
        var list = new List<string>
        {
            "Estimate from a per-layer roofline on published and assumed platform figures, not a measurement on hardware.",
            cpuNodeCount == 0
                ? "NPU time only; the model has no CPU nodes."
                : $"NPU time only; {cpuNodeCount} CPU node(s) are excluded.",
            "Every activation read and write goes through DRAM and weights are read once; on-chip reuse is not modelled.",
            "Kneron's per-operator conditions (kernel, stride, rank limits) are not checked.",
        };
        foreach (var (name, parameter) in parameters.Named().Where(p => p.Parameter.Basis != "published"))
        {
            list.Add(string.Create(CultureInfo.InvariantCulture, $"{name} = {parameter.Value:G4} ({parameter.Basis}): {parameter.Source}"));
        }

        return list;
    }
}
