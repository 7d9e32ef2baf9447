using Kneron.Quantization.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Kneron.Quantization.Config;

/// <summary>
/// Parses the config's YAML text into its top-level mapping and turns every
/// YamlDotNet failure into a coded error at the best position known.
/// </summary>
/// <remarks>
/// YamlDotNet 18.1 does not always say where a failure is. Some errors carry
/// an empty mark (line 1, column 1, index 0): tab indentation, an undefined
/// alias, a repeated empty key. Some malformed flow collections make its
/// scanner throw <see cref="InvalidOperationException"/>, or its node loader
/// throw <see cref="ArgumentException"/>, without any position. The parser
/// events read so far are therefore recorded, and the scanner's position is
/// used when the exception has none.
/// </remarks>
internal static class YamlFileParser
{
    public static YamlMappingNode Parse(string path, string text)
    {
        var scanner = new Scanner(new StringReader(text));
        var parser = new RecordingParser(new Parser(scanner));
        var stream = new YamlStream();
        try
        {
            stream.Load(parser);
        }
        catch (YamlException ex)
        {
            throw FromYamlException(path, ex, scanner, parser);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            throw FromParserFailure(path, ex, scanner, parser);
        }

        RejectLaterDocuments(path, stream, parser);

        if (stream.Documents.Count == 0 || ConfigSection.IsNull(stream.Documents[0].RootNode))
        {
            throw new KnqException(ConfigCodes.EmptyFile, new SourceLocation(path),
                "config file is empty; it needs at least platform and calibration.");
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var node = stream.Documents[0].RootNode;
            throw new KnqException(ConfigCodes.NotAMapping, At(path, node.Start),
                $"the config must be a mapping of keys to values (key: value lines), got a {ConfigSection.NodeKind(node)}.");
        }

        return root;
    }

    /// <summary>
    /// Rejects a second YAML document (after a <c>---</c> line), which the
    /// config would otherwise ignore. A later document without content, such
    /// as a trailing <c>---</c>, is allowed because it changes nothing.
    /// </summary>
    private static void RejectLaterDocuments(string path, YamlStream stream, RecordingParser parser)
    {
        for (var i = 1; i < stream.Documents.Count; i++)
        {
            if (ConfigSection.IsNull(stream.Documents[i].RootNode))
            {
                continue;
            }

            var start = i < parser.DocumentStarts.Count ? parser.DocumentStarts[i] : stream.Documents[i].RootNode.Start;
            throw new KnqException(ConfigCodes.MultipleDocuments, At(path, start),
                "the config file contains a second YAML document, which starts here after a '---' line; a config is one document, so remove the '---' line and merge the keys into the first document.");
        }
    }

    private static KnqException FromYamlException(string path, YamlException ex, Scanner scanner, RecordingParser parser)
    {
        if (ex is AnchorNotFoundException && parser.FirstUndefinedAlias is var (aliasName, aliasStart))
        {
            return new KnqException(ConfigCodes.YamlSyntax, At(path, aliasStart),
                $"invalid YAML: the alias '*{aliasName}' refers to no anchor '&{aliasName}' defined before it; define the anchor earlier in the file, or write the value in place of the alias.", ex);
        }

        var start = ex.Start;
        if (start.Equals(Mark.Empty) && ex is not SemanticErrorException && scanner.CurrentPosition.Line > 1)
        {
            // The parser's own (semantic) errors take their marks from tokens, so
            // line 1, column 1 is real there. Scanner errors with an empty mark are
            // not, and the scanner stops at the line it failed on.
            start = scanner.CurrentPosition;
        }

        var location = At(path, start);
        var message = StripMarks(ex.Message);

        // YamlDotNet 18 reports a repeated key only through its message text.
        if (message.StartsWith("Duplicate key", StringComparison.Ordinal))
        {
            return new KnqException(ConfigCodes.DuplicateKey, location,
                "this key appears twice in the same mapping; remove one of them.", ex);
        }

        var hint = message.Contains("tab", StringComparison.Ordinal)
            ? "indent with spaces, because YAML does not allow tabs in indentation"
            : "fix the syntax at this position";
        return new KnqException(ConfigCodes.YamlSyntax, location, $"invalid YAML: {message}; {hint}.", ex);
    }

    /// <summary>
    /// Reports a YamlDotNet failure that carries no position. When a flow
    /// collection (<c>[…]</c> or <c>{…}</c>) is still open, which is the known
    /// cause of the scanner's failure, the error names where the innermost one opens.
    /// </summary>
    /// <remarks>
    /// NOTE: an empty key with an indented value under it (<c>inputs:</c>, then
    /// <c>"   :"</c>) makes the node loader throw after the parser has read to
    /// the end, so that error is reported at the end of the file, not at the key.
    /// </remarks>
    private static KnqException FromParserFailure(string path, Exception ex, Scanner scanner, RecordingParser parser)
    {
        if (parser.InnermostOpenFlowCollection is { } open)
        {
            var (bracket, closing) = open.IsMapping ? ('{', '}') : ('[', ']');
            return new KnqException(ConfigCodes.YamlSyntax, At(path, open.Start),
                $"invalid YAML: the '{bracket}' that opens here is not closed where expected; add the missing '{closing}' or comma before the next key.", ex);
        }

        return new KnqException(ConfigCodes.YamlSyntax, At(path, scanner.CurrentPosition),
            "invalid YAML: the parser failed at this position; check the indentation, brackets and quotes on this line and the ones before it.", ex);
    }

    private static SourceLocation At(string path, Mark mark) => new(path, (int)mark.Line, (int)mark.Column);

    /// <summary>Removes the "(Line: 3, Col: 1, Idx: 20) - (…): " prefix that YamlDotNet puts before its messages; the location carries it.</summary>
    private static string StripMarks(string message)
    {
        var prefixEnd = message.IndexOf("): ", StringComparison.Ordinal);
        var trimmed = message.StartsWith("(Line:", StringComparison.Ordinal) && prefixEnd > 0 ? message[(prefixEnd + 3)..] : message;
        return trimmed.TrimEnd('.');
    }

    /// <summary>
    /// Passes the events of an inner parser through and records what error
    /// positions need: document starts, open collections, and anchors and aliases.
    /// </summary>
    private sealed class RecordingParser : IParser
    {
        private readonly IParser _inner;
        private readonly Stack<(bool IsFlow, bool IsMapping, Mark Start)> _openCollections = new();
        private readonly HashSet<string> _anchors = new(StringComparer.Ordinal);

        public RecordingParser(IParser inner) => _inner = inner;

        public ParsingEvent? Current => _inner.Current;

        /// <summary>Start marks of the documents, in order.</summary>
        public List<Mark> DocumentStarts { get; } = new();

        /// <summary>The first alias read before any anchor of its name, if any.</summary>
        public (string Name, Mark Start)? FirstUndefinedAlias { get; private set; }

        public (bool IsMapping, Mark Start)? InnermostOpenFlowCollection
        {
            get
            {
                foreach (var collection in _openCollections)
                {
                    if (collection.IsFlow)
                    {
                        return (collection.IsMapping, collection.Start);
                    }
                }

                return null;
            }
        }

        public bool MoveNext()
        {
            if (!_inner.MoveNext())
            {
                return false;
            }

            Record(_inner.Current);
            return true;
        }

        private void Record(ParsingEvent? parsingEvent)
        {
            if (parsingEvent is NodeEvent { Anchor.IsEmpty: false } node)
            {
                _anchors.Add(node.Anchor.Value);
            }

            switch (parsingEvent)
            {
                case DocumentStart start:
                    DocumentStarts.Add(start.Start);
                    break;
                case SequenceStart sequence:
                    _openCollections.Push((sequence.Style == SequenceStyle.Flow, false, sequence.Start));
                    break;
                case MappingStart mapping:
                    _openCollections.Push((mapping.Style == MappingStyle.Flow, true, mapping.Start));
                    break;
                case SequenceEnd or MappingEnd when _openCollections.Count > 0:
                    _openCollections.Pop();
                    break;
                case AnchorAlias alias when FirstUndefinedAlias is null && !_anchors.Contains(alias.Value.Value):
                    FirstUndefinedAlias = (alias.Value.Value, alias.Start);
                    break;
            }
        }
    }
}
