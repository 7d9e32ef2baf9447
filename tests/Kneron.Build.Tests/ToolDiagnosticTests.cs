using Kneron.Build.Tasks;

namespace Kneron.Build.Tests;

public class ToolDiagnosticTests
{
    [Fact]
    public void ParsesPathLineColumnAndCode()
    {
        var diagnostic = ToolDiagnostic.TryParse("/src/models/face.quant.yaml(7,25): error KNQ0104: flops_ratio must be between 0 and 1, got 1.5.");

        Assert.NotNull(diagnostic);
        Assert.True(diagnostic.IsError);
        Assert.Equal("KNQ0104", diagnostic.Code);
        Assert.Equal("/src/models/face.quant.yaml", diagnostic.File);
        Assert.Equal(7, diagnostic.Line);
        Assert.Equal(25, diagnostic.Column);
        Assert.Equal("flops_ratio must be between 0 and 1, got 1.5.", diagnostic.Message);
    }

    [Fact]
    public void KeepsWindowsPathWithParentheses()
    {
        var diagnostic = ToolDiagnostic.TryParse(@"C:\work (v2)\face.quant.yaml(3,1): warning KNQ0105: unused key.");

        Assert.NotNull(diagnostic);
        Assert.False(diagnostic.IsError);
        Assert.Equal(@"C:\work (v2)\face.quant.yaml", diagnostic.File);
        Assert.Equal(3, diagnostic.Line);
        Assert.Equal(1, diagnostic.Column);
    }

    [Theory]
    [InlineData("/m/face.onnx: error KNQ0201: not an ONNX model.", "/m/face.onnx", 0, 0)]
    [InlineData("/m/face.quant.yaml(4): error KNQ0101: invalid value.", "/m/face.quant.yaml", 4, 0)]
    [InlineData("error KNQ0001: missing argument.", null, 0, 0)]
    public void ParsesDiagnosticsWithoutFullPosition(string line, string? file, int lineNumber, int column)
    {
        var diagnostic = ToolDiagnostic.TryParse(line);

        Assert.NotNull(diagnostic);
        Assert.Equal(file, diagnostic.File);
        Assert.Equal(lineNumber, diagnostic.Line);
        Assert.Equal(column, diagnostic.Column);
    }

    [Theory]
    [InlineData("face.onnx: KL720 datapath int8, weight int8; SNR out 25.13 dB")]
    [InlineData("   at Kneron.Quantization.Analyzer.Analyze()")]
    [InlineData("")]
    public void RejectsOtherLines(string line)
    {
        Assert.Null(ToolDiagnostic.TryParse(line));
    }

    [Theory]
    [InlineData(@"C:\work (v2)\face.quant.yaml(3,1): warning KNQ0105: unused key.")]
    [InlineData("/m/face.quant.yaml(4): error KNQ0101: invalid value.")]
    [InlineData("/m/face.onnx: warning KNQ0301: image is grayscale.")]
    [InlineData("error KNQ0001: missing argument.")]
    public void FormatsBackToSameLine(string line)
    {
        Assert.Equal(line, ToolDiagnostic.TryParse(line)!.ToString());
    }
}
