using Kneron.Build.Tasks;
using Microsoft.Build.Utilities;

namespace Kneron.Build.Tests;

public sealed class KneronReplayWarningsTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "kneron-replay-tests", Guid.NewGuid().ToString("N"));

    public KneronReplayWarningsTests()
    {
        Directory.CreateDirectory(_folder);
    }

    public void Dispose()
    {
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void ReplaysWarningsWithPositionAndCode()
    {
        var file = Path.Combine(_folder, "face.warnings");
        File.WriteAllLines(file, new[]
        {
            "/p/models/face.quant.yaml(2,16): warning KNQ0403: SNR of output out is 13.03 dB, below snr_threshold 200.00 dB.",
            "/p/images/a.png: warning KNQ0301: image is grayscale.",
            "not a diagnostic",
        });
        var item = new TaskItem(file);
        item.SetMetadata("ModelItemSpec", "models/face.onnx");
        var engine = new FakeBuildEngine();
        var task = new KneronReplayWarnings { BuildEngine = engine, WarningsFiles = new[] { item, new TaskItem(Path.Combine(_folder, "missing.warnings")) } };

        Assert.True(task.Execute());

        Assert.Equal(2, engine.Warnings.Count);
        var snr = engine.Warnings[0];
        Assert.Equal("KNQ0403", snr.Code);
        Assert.Equal("/p/models/face.quant.yaml", snr.File);
        Assert.Equal(2, snr.LineNumber);
        Assert.Equal(16, snr.ColumnNumber);
        Assert.Equal("SNR of output out is 13.03 dB, below snr_threshold 200.00 dB.", snr.Message);
        Assert.Equal("/p/images/a.png", engine.Warnings[1].File);
        Assert.Equal(0, engine.Warnings[1].LineNumber);
        Assert.Contains(engine.Messages, m => m.Message!.StartsWith("models/face.onnx is up to date"));
    }

    [Fact]
    public void EmptyFileLogsNothing()
    {
        var file = Path.Combine(_folder, "face.warnings");
        File.WriteAllText(file, "");
        var engine = new FakeBuildEngine();
        var task = new KneronReplayWarnings { BuildEngine = engine, WarningsFiles = new[] { new TaskItem(file) } };

        Assert.True(task.Execute());

        Assert.Empty(engine.Warnings);
        Assert.Empty(engine.Messages);
    }
}
