using Kneron.Quantization.Calibration;
using Kneron.Quantization.Diagnostics;

namespace Kneron.Quantization.Tests;

public sealed class NpyReaderTests : IDisposable
{
    private readonly TestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Float32_Version1()
    {
        var path = _folder.WriteBytes("a.npy", NpyFiles.Build("<f4", "(2, 3)", NpyFiles.Float32(1, 2, 3, 4, 5, -6.5f)));

        var array = NpyReader.Read(path);

        Assert.Equal(new long[] { 2, 3 }, array.Shape);
        Assert.Equal("<f4", array.Dtype);
        Assert.Equal(new[] { 1f, 2, 3, 4, 5, -6.5f }, array.Data);
    }

    [Fact]
    public void Float64_Converted()
    {
        var path = _folder.WriteBytes("a.npy", NpyFiles.Build("<f8", "(3,)", NpyFiles.Float64(0.1, -2, 1e10)));

        var array = NpyReader.Read(path);

        Assert.Equal(new long[] { 3 }, array.Shape);
        Assert.Equal(new[] { 0.1f, -2f, 1e10f }, array.Data);
    }

    [Fact]
    public void Version2_Header()
    {
        var path = _folder.WriteBytes("a.npy", NpyFiles.Build("<f4", "(1, 2)", NpyFiles.Float32(7, 8), major: 2));

        var array = NpyReader.Read(path);

        Assert.Equal(new long[] { 1, 2 }, array.Shape);
        Assert.Equal(new[] { 7f, 8f }, array.Data);
    }

    [Fact]
    public void Scalar_EmptyShape()
    {
        var path = _folder.WriteBytes("a.npy", NpyFiles.Build("<f4", "()", NpyFiles.Float32(3)));

        var array = NpyReader.Read(path);

        Assert.Empty(array.Shape);
        Assert.Equal(new[] { 3f }, array.Data);
    }

    [Fact]
    public void FortranOrder_Rejected()
    {
        var path = _folder.WriteBytes("a.npy", NpyFiles.Build("<f4", "(2, 2)", NpyFiles.Float32(1, 2, 3, 4), fortran: true));

        var error = Assert.Throws<KnqException>(() => NpyReader.Read(path));

        Assert.Equal(CalibrationCodes.NpyFortranOrder, error.Code);
        Assert.Equal(path, error.Diagnostic.Location.Path);
        Assert.Equal(0, error.Diagnostic.Location.Line);
    }

    [Fact]
    public void Int32_Rejected()
    {
        var path = _folder.WriteBytes("a.npy", NpyFiles.Build("<i4", "(2,)", NpyFiles.Float32(1, 2)));

        var error = Assert.Throws<KnqException>(() => NpyReader.Read(path));

        Assert.Equal(CalibrationCodes.NpyUnsupportedDtype, error.Code);
        Assert.Contains("'<i4'", error.Message);
    }

    [Fact]
    public void BigEndian_Rejected()
    {
        var path = _folder.WriteBytes("a.npy", NpyFiles.Build(">f4", "(2,)", NpyFiles.Float32(1, 2)));

        var error = Assert.Throws<KnqException>(() => NpyReader.Read(path));

        Assert.Equal(CalibrationCodes.NpyUnsupportedDtype, error.Code);
    }

    [Fact]
    public void BadMagic_Rejected()
    {
        var path = _folder.WriteText("a.npy", "not a numpy file at all");

        var error = Assert.Throws<KnqException>(() => NpyReader.Read(path));

        Assert.Equal(CalibrationCodes.NpyInvalid, error.Code);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void ShortData_Rejected()
    {
        var path = _folder.WriteBytes("a.npy", NpyFiles.Build("<f4", "(2, 3)", NpyFiles.Float32(1, 2, 3)));

        var error = Assert.Throws<KnqException>(() => NpyReader.Read(path));

        Assert.Equal(CalibrationCodes.NpyInvalid, error.Code);
        Assert.Contains("6 elements", error.Message);
    }

    [Fact]
    public void UnknownVersion_Rejected()
    {
        var bytes = NpyFiles.Build("<f4", "(1,)", NpyFiles.Float32(1));
        bytes[6] = 9;
        var path = _folder.WriteBytes("a.npy", bytes);

        var error = Assert.Throws<KnqException>(() => NpyReader.Read(path));

        Assert.Equal(CalibrationCodes.NpyInvalid, error.Code);
        Assert.Contains("version 9.0", error.Message);
    }
}
