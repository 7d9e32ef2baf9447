namespace Kneron.Quantization.Calibration;

/// <summary>
/// A model input as the sample loaders need it: its name and its fully fixed
/// shape (dynamic dimensions already replaced from the config's
/// <c>inputs.&lt;name&gt;.shape</c>). Only float32 inputs are fed by images.
/// </summary>
public sealed record ModelInput(string Name, IReadOnlyList<long> Shape, bool IsFloat);
