namespace Kneron.Quantization.Diagnostics;

/// <summary>Diagnostic codes for problems with the ONNX model (KNQ0200–KNQ0299).</summary>
public static class ModelCodes
{
    /// <summary>The model file does not exist.</summary>
    public const string ModelNotFound = "KNQ0201";

    /// <summary>The file is not a readable ONNX model (not protobuf, truncated, or no graph).</summary>
    public const string InvalidModel = "KNQ0202";

    /// <summary>The graph has no nodes.</summary>
    public const string EmptyGraph = "KNQ0203";

    /// <summary>A model input has a dynamic dimension and the config gives no shape for it.</summary>
    public const string DynamicShapeWithoutConfig = "KNQ0204";

    /// <summary>The shape in <c>inputs.&lt;name&gt;.shape</c> does not fit the model input.</summary>
    public const string InputShapeMismatch = "KNQ0205";

    /// <summary><c>inputs.&lt;name&gt;</c> names no input of the model.</summary>
    public const string UnknownInput = "KNQ0206";

    /// <summary>ONNX Runtime could not load or run the model.</summary>
    public const string RuntimeRejectedModel = "KNQ0207";

    /// <summary>An external data file the model refers to is missing or cannot be read.</summary>
    public const string ExternalDataFileMissing = "KNQ0208";

    /// <summary>A node's operator domain is not one ONNX Runtime runs (a custom or training-only domain).</summary>
    public const string UnsupportedOperatorDomain = "KNQ0209";

    /// <summary>Warning: several nodes share a name; the later ones are renamed in the analysis.</summary>
    public const string DuplicateNodeName = "KNQ0210";

    /// <summary>The model has no inputs, or no float32 tensor depends on them.</summary>
    public const string NothingToQuantize = "KNQ0211";

    /// <summary>An external data reference is unsafe or malformed: no location, an absolute path or one leaving the model's folder, or an offset or length that is not a number.</summary>
    public const string ExternalDataLocationInvalid = "KNQ0212";

    /// <summary>An external tensor's byte range lies beyond the end of its data file, or does not match the tensor's shape and type.</summary>
    public const string ExternalDataOutOfRange = "KNQ0213";

    /// <summary>Warning: the model has control-flow nodes (If, Loop, Scan), whose bodies stay float on the CPU.</summary>
    public const string ControlFlowBodyFloat = "KNQ0214";
}
