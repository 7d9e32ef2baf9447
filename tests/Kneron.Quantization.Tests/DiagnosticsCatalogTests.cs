using System.Text.RegularExpressions;

namespace Kneron.Quantization.Tests;

/// <summary>Every diagnostic code in the source is documented in docs/diagnostics.md, and every documented code exists.</summary>
public sealed partial class DiagnosticsCatalogTests
{
    [GeneratedRegex(@"""(KNQ\d{4})""")]
    private static partial Regex CodeLiteral();

    [GeneratedRegex(@"^\| (KNQ\d{4}) \|", RegexOptions.Multiline)]
    private static partial Regex DocumentedCode();

    [Fact]
    public void SourceAndDocsListSameCodes()
    {
        var root = Directory.GetParent(TestFolder.DataFolder())!.Parent!.FullName;
        var sourceFiles = Directory.GetFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"));
        var inSource = sourceFiles.SelectMany(f => CodeLiteral().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value)).ToHashSet();
        var inDocs = DocumentedCode().Matches(File.ReadAllText(Path.Combine(root, "docs", "diagnostics.md"))).Select(m => m.Groups[1].Value).ToHashSet();

        Assert.NotEmpty(inSource);
        Assert.Empty(inSource.Except(inDocs).Order());
        Assert.Empty(inDocs.Except(inSource).Order());
    }
}
