namespace Kneron.Quantization.Diagnostics;

/// <summary>
/// A place in a file that a diagnostic points at. Line and column are 1-based;
/// a line of 0 means the diagnostic concerns the whole file.
/// </summary>
public readonly record struct SourceLocation(string Path, int Line = 0, int Column = 0)
{
    /// <summary>Formats the location as MSBuild's canonical <c>path(line,col)</c> prefix.</summary>
    public override string ToString() =>
        Line > 0 ? $"{Path}({Line},{Column})" : Path;
}
