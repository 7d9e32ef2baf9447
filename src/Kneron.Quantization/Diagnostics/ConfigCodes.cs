namespace Kneron.Quantization.Diagnostics;

/// <summary>Diagnostic codes KNQ0100–KNQ0199: errors in the quantization config (YAML file and overrides).</summary>
public static class ConfigCodes
{
    /// <summary>The config file does not exist.</summary>
    public const string FileNotFound = "KNQ0100";

    /// <summary>The config file exists but could not be read or is not valid UTF-8 text.</summary>
    public const string FileUnreadable = "KNQ0101";

    /// <summary>The file is not valid YAML.</summary>
    public const string YamlSyntax = "KNQ0102";

    /// <summary>The file contains no YAML document, or only an empty one.</summary>
    public const string EmptyFile = "KNQ0103";

    /// <summary>The top level of the file (or a section) is not a mapping of keys to values.</summary>
    public const string NotAMapping = "KNQ0104";

    /// <summary>A key is not one of the keys valid at that place.</summary>
    public const string UnknownKey = "KNQ0105";

    /// <summary>The same key appears twice in one mapping.</summary>
    public const string DuplicateKey = "KNQ0106";

    /// <summary>A required key (<c>platform</c>, <c>calibration</c>) is missing or has no value.</summary>
    public const string MissingKey = "KNQ0107";

    /// <summary>A value has the wrong type (for example text where a number is expected).</summary>
    public const string WrongType = "KNQ0108";

    /// <summary>A number is outside its valid range.</summary>
    public const string OutOfRange = "KNQ0109";

    /// <summary>A value is not one of the allowed words (modes, methods, layouts, platforms).</summary>
    public const string InvalidValue = "KNQ0110";

    /// <summary>A sample section sets both <c>images</c> and <c>tensors</c>.</summary>
    public const string BothSources = "KNQ0111";

    /// <summary>A sample section sets neither <c>images</c> nor <c>tensors</c>.</summary>
    public const string NoSource = "KNQ0112";

    /// <summary><c>percentage_16b</c> is smaller than <c>percentage</c>.</summary>
    public const string Percentage16bBelowPercentage = "KNQ0113";

    /// <summary>An override is not of the form <c>key=value</c>, or its key path cannot be applied.</summary>
    public const string InvalidOverride = "KNQ0114";

    /// <summary>A list has the wrong number of entries (<c>resize</c>, <c>mean</c>, <c>std</c>, <c>shape</c>).</summary>
    public const string WrongLength = "KNQ0115";

    /// <summary>The file contains a second YAML document (after a <c>---</c> line) with content.</summary>
    public const string MultipleDocuments = "KNQ0116";
}
