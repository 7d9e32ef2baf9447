using System.Security.Cryptography;
using System.Text;
using Kneron.Quantization.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

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
    /// <param name="overridesSource">Where errors about overridden values are reported (the project file that set them); null reports them at the YAML file's (1,1).</param>
    /// <param name="sink">Receives warnings; the current checks raise none.</param>
    /// <exception cref="KnqException">On the first invalid value, with the file, line and column of the value (or of the key, for an unknown key).</exception>
    public static QuantConfig Load(
        string yamlPath,
        IReadOnlyList<string>? overrides = null,
        SourceLocation? overridesSource = null,
        IDiagnosticSink? sink = null)
    {
        var fullPath = Path.GetFullPath(yamlPath);
        var bytes = ReadBytes(fullPath);
        var text = DecodeUtf8(fullPath, bytes);
        var root = ParseYaml(fullPath, text);
        var document = new ConfigDocument(fullPath, root, overridesSource);

        overrides ??= Array.Empty<string>();
        ConfigOverrides.Apply(document, overrides, overridesSource ?? document.DefaultLocation);

        var config = ConfigReader.Read(document, Convert.ToHexStringLower(SHA256.HashData(bytes)), overrides.ToArray());
        return config;
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

    private static YamlMappingNode ParseYaml(string path, string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            var location = new SourceLocation(path, (int)ex.Start.Line, (int)ex.Start.Column);
            // YamlDotNet 18 reports a repeated key only through its message text.
            if (ex.Message.Contains("Duplicate key", StringComparison.Ordinal))
            {
                throw new KnqException(ConfigCodes.DuplicateKey, location,
                    "this key appears twice in the same mapping; remove one of them.", ex);
            }

            throw new KnqException(ConfigCodes.YamlSyntax, location,
                $"invalid YAML: {StripMarks(ex.Message)}; fix the syntax at this position.", ex);
        }

        if (stream.Documents.Count == 0 || ConfigSection.IsNull(stream.Documents[0].RootNode))
        {
            throw new KnqException(ConfigCodes.EmptyFile, new SourceLocation(path),
                "config file is empty; it needs at least platform and calibration.");
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var node = stream.Documents[0].RootNode;
            throw new KnqException(ConfigCodes.NotAMapping, new SourceLocation(path, (int)node.Start.Line, (int)node.Start.Column),
                $"the config must be a mapping of keys to values (key: value lines), got a {ConfigSection.NodeKind(node)}.");
        }

        return root;
    }

    /// <summary>Removes the "(Line: 3, Col: 1, Idx: 20) - (…): " prefix that YamlDotNet puts before its messages; the location carries it.</summary>
    private static string StripMarks(string message)
    {
        var prefixEnd = message.IndexOf("): ", StringComparison.Ordinal);
        var trimmed = message.StartsWith("(Line:", StringComparison.Ordinal) && prefixEnd > 0 ? message[(prefixEnd + 3)..] : message;
        return trimmed.TrimEnd('.');
    }
}
