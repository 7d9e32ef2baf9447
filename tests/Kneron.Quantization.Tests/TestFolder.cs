namespace Kneron.Quantization.Tests;

/// <summary>A temporary folder for one test's files, deleted when the test ends.</summary>
public sealed class TestFolder : IDisposable
{
    public TestFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "knq-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(string relative) => System.IO.Path.Combine(Path, relative);

    public string WriteText(string relative, string text)
    {
        var full = Combine(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
        return full;
    }

    public string WriteBytes(string relative, byte[] bytes)
    {
        var full = Combine(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, bytes);
        return full;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; the test result matters more.
        }
    }

    /// <summary>Returns the repository's <c>tests/data</c> folder, found by walking up from the test assembly.</summary>
    public static string DataFolder()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null)
        {
            var candidate = System.IO.Path.Combine(directory.FullName, "tests", "data", "images");
            if (Directory.Exists(candidate))
            {
                return System.IO.Path.Combine(directory.FullName, "tests", "data");
            }

            directory = directory.Parent;
        }

        throw new DirectoryNotFoundException("tests/data was not found above " + AppContext.BaseDirectory);
    }
}
