namespace Kneron.Quantization.Diagnostics;

public enum DiagnosticSeverity
{
    Warning,
    Error,
}

/// <summary>
/// One coded message for the user, printed in MSBuild's canonical form
/// <c>path(line,col): error KNQ0123: message</c> so that IDEs link it to the line.
/// </summary>
public sealed record Diagnostic(string Code, DiagnosticSeverity Severity, SourceLocation Location, string Message)
{
    public override string ToString()
    {
        var severity = Severity == DiagnosticSeverity.Error ? "error" : "warning";
        return $"{Location}: {severity} {Code}: {Message}";
    }
}
