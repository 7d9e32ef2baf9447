namespace Kneron.Quantization.Diagnostics;

/// <summary>Diagnostic codes KNQ0300–KNQ0399: errors in calibration and evaluation samples.</summary>
public static class CalibrationCodes
{
    /// <summary>An <c>images</c> or <c>tensors</c> pattern matched no file.</summary>
    public const string NoFileMatched = "KNQ0300";

    /// <summary>An image file could not be decoded (truncated, corrupt or not an image).</summary>
    public const string ImageDecodeFailed = "KNQ0301";

    /// <summary>A <c>.npy</c> file is not a valid NumPy array file (bad magic, header or data length).</summary>
    public const string NpyInvalid = "KNQ0302";

    /// <summary>A <c>.npy</c> file has a data type other than little-endian float32 or float64.</summary>
    public const string NpyUnsupportedDtype = "KNQ0303";

    /// <summary>A <c>.npy</c> file is stored in Fortran (column-major) order.</summary>
    public const string NpyFortranOrder = "KNQ0304";

    /// <summary>A <c>.npy</c> array's shape matches neither the model input's shape nor that shape without the batch dimension.</summary>
    public const string NpyShapeMismatch = "KNQ0305";

    /// <summary>The channel dimension of an image input cannot be inferred from its shape; <c>layout</c> is needed.</summary>
    public const string LayoutNotInferable = "KNQ0306";

    /// <summary>An image-fed input has a batch dimension other than 1.</summary>
    public const string BatchNotOne = "KNQ0307";

    /// <summary><c>resize</c> differs from the model input's fixed width and height.</summary>
    public const string ResizeMismatch = "KNQ0308";

    /// <summary><c>mean</c> or <c>std</c> has neither 1 entry nor one entry per input channel.</summary>
    public const string MeanStdLength = "KNQ0309";

    /// <summary>A model input has no sample source: neither its own <c>inputs.&lt;name&gt;</c> source nor a usable top-level one.</summary>
    public const string InputWithoutSource = "KNQ0310";

    /// <summary>A non-float model input is given images; it needs <c>tensors</c>.</summary>
    public const string NonFloatInputNeedsTensors = "KNQ0311";

    /// <summary>An image-fed input's shape is not rank 4 with 1, 3 or 4 channels and positive dimensions.</summary>
    public const string UnsupportedImageShape = "KNQ0312";

    // KNQ0313 (an inputs entry naming no model input) is retired, because the model check reports that
    // first as KNQ0206. The number stays unused so that old logs keep one meaning.

    /// <summary>A matched sample file could not be read (removed or not readable since it was matched).</summary>
    public const string FileUnreadable = "KNQ0314";

    /// <summary>A sample value cannot feed a non-float input: not a whole number, outside the type's range, or a type that numbers cannot feed.</summary>
    public const string NpyValueNotRepresentable = "KNQ0315";
}
