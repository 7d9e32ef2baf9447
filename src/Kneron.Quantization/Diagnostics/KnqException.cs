namespace Kneron.Quantization.Diagnostics;

/// <summary>
/// A failure the user caused and can fix (bad config, model or calibration
/// data). The CLI prints it as a coded error and exits with code 2; anything
/// that is not a <see cref="KnqException"/> is treated as a bug.
/// </summary>
public sealed class KnqException : Exception
{
    public KnqException(string code, SourceLocation location, string message, Exception? inner = null)
        : base(message, inner)
    {
        Diagnostic = new Diagnostic(code, DiagnosticSeverity.Error, location, message);
    }

    public Diagnostic Diagnostic { get; }

    public string Code => Diagnostic.Code;
}
