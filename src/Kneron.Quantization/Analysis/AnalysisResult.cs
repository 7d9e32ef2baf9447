using Kneron.Quantization.Calibration;
using Kneron.Quantization.Config;
using Kneron.Quantization.Planning;
using Kneron.Quantization.Simulation;

namespace Kneron.Quantization.Analysis;

/// <summary>SNR of one model output. <see cref="SnrDb"/> is +∞ when the quantized output equals the float one exactly.</summary>
public sealed record OutputSnr(string Name, string EvaluatedTensor, double SnrDb);

/// <summary>
/// One node of the model with its quantization and error. <see cref="SnrDb"/>
/// compares the node's quantized output in the fully quantized run with the
/// float model (accumulated error); <see cref="SnrDbLocal"/> compares it with
/// its own value just before quantization in the same run (this tensor's own
/// rounding and clipping error). Both are null where the node's output is not
/// quantized.
/// </summary>
public sealed record LayerResult(string Node, string OpType, string Category, int? DatapathBits, int? WeightBits, string? Tensor, double? SnrDb, double? SnrDbLocal);

/// <summary>Everything one analysis found, for the artifacts and the summary line.</summary>
public sealed class AnalysisResult
{
    public required string ModelPath { get; init; }

    public required string ModelSha256 { get; init; }

    public required QuantConfig Config { get; init; }

    /// <summary>The mode that produced the result; for <c>auto</c>, the mode it chose.</summary>
    public required ModeRequest Mode { get; init; }

    /// <summary>Whether <see cref="Mode"/> is the configured one, or was chosen by auto or a sweep.</summary>
    public ModeChoice ModeChoice { get; init; } = ModeChoice.Configured;

    public required BitwidthSettings Bits { get; init; }

    public required IReadOnlyList<OutputSnr> Outputs { get; init; }

    public required IReadOnlyList<TensorQuantization> Table { get; init; }

    public required IReadOnlyList<LayerResult> Layers { get; init; }

    public required IReadOnlyList<string> CpuNodes { get; init; }

    /// <summary>mixbw's candidates, most sensitive first; empty for other modes.</summary>
    public IReadOnlyList<SensitivityEntry> Sensitivity { get; init; } = Array.Empty<SensitivityEntry>();

    /// <summary>Each Conv's MACs for one sample.</summary>
    public IReadOnlyList<ConvCost> ConvCosts { get; init; } = Array.Empty<ConvCost>();

    public required SampleSet Calibration { get; init; }

    /// <summary>The separate evaluation set, or null when SNR was measured on the calibration samples.</summary>
    public SampleSet? Evaluation { get; init; }

    public required QdqModel QuantizedModel { get; init; }

    public required TimeSpan Elapsed { get; init; }

    /// <summary>Estimated NPU frames per second of the chosen mode; null when the estimate could not be made.</summary>
    public Performance.FpsEstimate? FpsEstimate { get; init; }

    /// <summary>Every mode the analysis ran, in the order tried, with its SNR and estimated FPS; the chosen one marked. One entry unless the mode is <c>auto</c>.</summary>
    public IReadOnlyList<ModeTrial> ModesTried { get; init; } = Array.Empty<ModeTrial>();

    /// <summary>Minimum SNR over the evaluated outputs, in dB.</summary>
    public double SnrDb => Outputs.Count == 0 ? double.PositiveInfinity : Outputs.Min(o => o.SnrDb);

    public double SnrThresholdDb => Config.SnrThresholdDb.Value;

    public bool Passed => Outputs.All(o => o.SnrDb >= SnrThresholdDb);

    /// <summary>The share of Conv MACs that run with a 16-bit datapath or 16-bit weights.</summary>
    public double SixteenBitConvShare
    {
        get
        {
            double total = ConvCosts.Sum(c => (double)c.Macs);
            double wide = ConvCosts
                .Where(c => Bits.NodeDatapath.GetValueOrDefault(c.Layer.Node, Bits.Datapath) == BitWidth.Int16
                    || Bits.NodeWeight.GetValueOrDefault(c.Layer.Node, Bits.Weight) == BitWidth.Int16)
                .Sum(c => (double)c.Macs);
            return total == 0 ? 0 : wide / total;
        }
    }
}
