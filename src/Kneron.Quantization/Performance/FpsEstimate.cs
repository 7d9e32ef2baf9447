using Kneron.Quantization.Config;

namespace Kneron.Quantization.Performance;

/// <summary>Which roof limits a layer's estimated time.</summary>
public enum Bound
{
    Compute,
    Memory,
}

/// <summary>
/// The estimated cost of one node. <see cref="Bound"/> is null for nodes
/// that take no NPU time: CPU nodes (excluded from the estimate), nodes
/// fused into the NPU node before them, and reshapes.
/// </summary>
public sealed record LayerEstimate(string Node, string OpType, string Category, long Macs, long Bytes, double TimeMs, Bound? Bound);

/// <summary>
/// A per-layer roofline estimate of NPU time for one inference. It is an
/// estimate from published peak figures and fitted efficiencies, not a
/// measurement, and it leaves out CPU nodes; <see cref="Assumptions"/> says so.
/// </summary>
public sealed record FpsEstimate(Platform Platform, double Fps, double TimeMs, IReadOnlyList<LayerEstimate> Layers, IReadOnlyList<string> Assumptions)
{
    public LayerEstimate? ForNode(string node) => Layers.FirstOrDefault(l => l.Node == node);
}
