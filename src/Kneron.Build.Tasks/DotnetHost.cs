namespace Kneron.Build.Tasks;

/// <summary>Finds the dotnet executable that runs kneron-quant.</summary>
internal static class DotnetHost
{
    /// <summary>
    /// Returns <paramref name="explicitPath"/> when set, else <c>DOTNET_HOST_PATH</c>
    /// (set by the .NET SDK to the dotnet running the build), else the first
    /// <c>dotnet</c> on <c>PATH</c>; null when none exists.
    /// </summary>
    public static string? Find(string? explicitPath)
    {
        foreach (var candidate in new[] { explicitPath, Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") })
        {
            if (!string.IsNullOrEmpty(candidate) && File.Exists(candidate))
            {
                return candidate;
            }
        }

        var executable = Path.DirectorySeparatorChar == '\\' ? "dotnet.exe" : "dotnet";
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var folder in path.Split(new[] { Path.PathSeparator }, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder.Trim('"'), executable);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
