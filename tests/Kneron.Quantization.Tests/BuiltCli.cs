namespace Kneron.Quantization.Tests;

/// <summary>The <c>kneron-quant.dll</c> built beside these tests, run with <c>dotnet</c> as the build task runs it.</summary>
public static class BuiltCli
{
    public static string Path()
    {
        var root = Directory.GetParent(TestFolder.DataFolder())!.Parent!.FullName;
        var configuration = AppContext.BaseDirectory.Contains($"{System.IO.Path.DirectorySeparatorChar}Release{System.IO.Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var path = System.IO.Path.Combine(root, "src", "Kneron.Quantization.Cli", "bin", configuration, "net10.0", "kneron-quant.dll");
        Assert.True(File.Exists(path), $"{path} is missing; build the solution first.");
        return path;
    }
}
