namespace Kneron.Quantization.Diagnostics;

/// <summary>Diagnostic codes of the simulation and SNR (KNQ0400–KNQ0499).</summary>
public static class SimulationCodes
{
    /// <summary>An evaluated output is all zeros in the float model, so its SNR is undefined.</summary>
    public const string ZeroSignal = "KNQ0401";

    /// <summary>The float model produced NaN or infinite values on a calibration or evaluation sample.</summary>
    public const string NonFiniteFloatOutput = "KNQ0402";

    /// <summary>An output's SNR is below <c>snr_threshold</c>.</summary>
    public const string SnrBelowThreshold = "KNQ0403";

    /// <summary>A model output is a decision (behind a comparison); its SNR is measured on the compared tensor.</summary>
    public const string DecisionOutputEvaluatedUpstream = "KNQ0404";

    /// <summary><c>evaluation.outputs</c> names a tensor that the model does not have or that is not float.</summary>
    public const string UnknownEvaluationTensor = "KNQ0405";

    /// <summary>Warning: a Concat joins inputs whose calibrated ranges differ by 100× or more, so its one output scale flattens the narrow ones.</summary>
    public const string ConcatRangeMismatch = "KNQ0406";

    /// <summary>A tensor of the quantized simulation has another length than in the float model (a shape computed from quantized data).</summary>
    public const string QuantizedShapeChanged = "KNQ0407";
}
