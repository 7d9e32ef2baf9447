using System.Security.Cryptography;
using System.Text;
using Kneron.Quantization.Diagnostics;

namespace Kneron.Quantization.Config;

/// <summary>
/// Reads and validates a model's quantization config (<c>&lt;name&gt;.quant.yaml</c>).
/// Checks here are the ones that need no model: key names, types, ranges and
/// allowed words. Platform rules and mode combinations are checked by the engine.
/// </summary>
public static class ConfigLoader
{
    /// <summary>
    /// Reads, overrides and validates the YAML file at <paramref name="yamlPath"/>.
    /// </summary>
    /// <param name="overrides"><c>key=value</c> entries applied before validation; dotted keys reach into sections (<c>calibration.max_samples=8</c>).</param>
    /// <param name="overridesSource">Where errors about overridden values are reported (the project file that set them); null reports them at the command line (path <c>kneron-quant</c>, no line). Either way the message names the override.</param>
    /// <param name="sink">Receives every config error after the first when there are several; the first is thrown. Null keeps them to the first.</param>
    /// <exception cref="KnqException">
    /// On an invalid value, with the file, line and column of the value (or of
    /// the key, for an unknown key). When several independent values are
    /// invalid, the first in file order is thrown and the others go to
    /// <paramref name="sink"/> before it is thrown.
    /// </exception>
    public static QuantConfig Load(
        string yamlPath,
        IReadOnlyList<string>? overrides = null,
        SourceLocation? overridesSource = null,
        IDiagnosticSink? sink = null)
    {
        var fullPath = Path.GetFullPath(yamlPath);
        var bytes = ReadBytes(fullPath);
        var text = DecodeUtf8(fullPath, bytes);
        var root = YamlFileParser.Parse(fullPath, text);
        var document = new ConfigDocument(fullPath, root, overridesSource);

        overrides ??= Array.Empty<string>();
        ConfigOverrides.Apply(document, overrides);

        QuantConfig? config = null;
        try
        {
            config = ConfigReader.Read(document, Convert.ToHexStringLower(SHA256.HashData(bytes)), overrides.ToArray());
        }
        catch (KnqException error)
        {
            // The reader records its errors instead of throwing. This keeps them if a check throws all the same.
            document.AddError(error);
        }

        ThrowIfErrors(document, sink);
        return config!;
    }

    /// <summary>
    /// Throws the first recorded error after sending the others to
    /// <paramref name="sink"/>. Errors at overrides come first, then the file's
    /// in line and column order.
    /// </summary>
    private static void ThrowIfErrors(ConfigDocument document, IDiagnosticSink? sink)
    {
        if (document.Errors.Count == 0)
        {
            return;
        }

        var ordered = document.Errors
            .OrderBy(e => e.Diagnostic.Location.Path == document.FilePath ? 1 : 0)
            .ThenBy(e => e.Diagnostic.Location.Line)
            .ThenBy(e => e.Diagnostic.Location.Column)
            .ToList();
        foreach (var other in ordered.Skip(1))
        {
            sink?.Report(other.Diagnostic);
        }

        throw ordered[0];
    }

    private static byte[] ReadBytes(string path)
    {
        if (!File.Exists(path))
        {
            throw new KnqException(ConfigCodes.FileNotFound, new SourceLocation(path),
                $"config file '{path}' was not found; create it beside the model or pass its path with --config.");
        }

        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KnqException(ConfigCodes.FileUnreadable, new SourceLocation(path),
                $"config file '{path}' could not be read: {ex.Message}", ex);
        }
    }

    private static string DecodeUtf8(string path, byte[] bytes)
    {
        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        var preamble = bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble) ? Encoding.UTF8.Preamble.Length : 0;
        try
        {
            return strict.GetString(bytes, preamble, bytes.Length - preamble);
        }
        catch (DecoderFallbackException ex)
        {
            throw new KnqException(ConfigCodes.FileUnreadable, new SourceLocation(path),
                $"config file '{path}' is not valid UTF-8 text (invalid byte at offset {ex.Index + preamble}); save it as UTF-8.", ex);
        }
    }
}
