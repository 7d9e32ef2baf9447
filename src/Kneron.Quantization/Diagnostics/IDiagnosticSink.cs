namespace Kneron.Quantization.Diagnostics;

/// <summary>Receives warnings (and errors that do not stop the analysis) as they are found.</summary>
public interface IDiagnosticSink
{
    void Report(Diagnostic diagnostic);
}

/// <summary>Keeps every reported diagnostic in order; used by tests and by the CLI.</summary>
public sealed class DiagnosticBag : IDiagnosticSink
{
    private readonly List<Diagnostic> _items = new();

    public IReadOnlyList<Diagnostic> Items => _items;

    public void Report(Diagnostic diagnostic) => _items.Add(diagnostic);

    public void Warn(string code, SourceLocation location, string message) =>
        Report(new Diagnostic(code, DiagnosticSeverity.Warning, location, message));
}
