using System.Text.RegularExpressions;

namespace Kneron.Build.Tasks;

/// <summary>
/// One error or warning printed by kneron-quant in MSBuild's canonical form:
/// <c>path(line,col): error KNQ0123: message</c>, <c>path(line): ...</c>,
/// <c>path: ...</c> or, for a diagnostic about no file, <c>error KNQ0123: ...</c>.
/// </summary>
internal sealed class ToolDiagnostic
{
    // The origin is everything before the first ": error CODE:" or
    // ": warning CODE:", so Windows drive letters and parentheses inside
    // folder names stay part of the path. Only a "(line)" or "(line,col)"
    // right before that colon is taken as the position.
    private static readonly Regex CanonicalLine = new(
        @"^(?:(?<origin>.*?)(?:\((?<line>\d+)(?:,(?<column>\d+))?\))?:\s+)?" +
        @"(?<severity>error|warning)\s+(?<code>[A-Za-z]+\d+)\s*:\s?(?<message>.*)$",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture);

    private ToolDiagnostic(bool isError, string code, string? file, int line, int column, string message)
    {
        IsError = isError;
        Code = code;
        File = file;
        Line = line;
        Column = column;
        Message = message;
    }

    /// <summary>True for <c>error</c>, false for <c>warning</c>.</summary>
    public bool IsError { get; }

    /// <summary>Diagnostic code such as <c>KNQ0104</c>.</summary>
    public string Code { get; }

    /// <summary>File the diagnostic points at, or null when it concerns no file.</summary>
    public string? File { get; }

    /// <summary>1-based line, or 0 when the diagnostic concerns the whole file.</summary>
    public int Line { get; }

    /// <summary>1-based column, or 0 when unknown.</summary>
    public int Column { get; }

    /// <summary>Message text after the code.</summary>
    public string Message { get; }

    /// <summary>Parses one output line; returns null when it is not a canonical diagnostic.</summary>
    public static ToolDiagnostic? TryParse(string line)
    {
        var match = CanonicalLine.Match(line.TrimEnd());
        if (!match.Success)
        {
            return null;
        }

        var origin = match.Groups["origin"].Value.Trim();
        return new ToolDiagnostic(
            isError: match.Groups["severity"].Value == "error",
            code: match.Groups["code"].Value,
            file: origin.Length == 0 ? null : origin,
            line: ParseNumber(match.Groups["line"]),
            column: ParseNumber(match.Groups["column"]),
            message: match.Groups["message"].Value);
    }

    /// <summary>Returns a copy of this diagnostic with <paramref name="message"/> as its text.</summary>
    public ToolDiagnostic WithMessage(string message) => new(IsError, Code, File, Line, Column, message);

    /// <summary>
    /// Formats the diagnostic in the canonical form <see cref="TryParse"/> reads,
    /// so that a stored line parses back to the same file, position, code and message.
    /// </summary>
    public override string ToString()
    {
        var severity = IsError ? "error" : "warning";
        if (File == null)
        {
            return $"{severity} {Code}: {Message}";
        }

        var position = "";
        if (Line > 0)
        {
            position = Column > 0 ? $"({Line},{Column})" : $"({Line})";
        }

        return $"{File}{position}: {severity} {Code}: {Message}";
    }

    private static int ParseNumber(Group group) =>
        group.Success ? int.Parse(group.Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
}
