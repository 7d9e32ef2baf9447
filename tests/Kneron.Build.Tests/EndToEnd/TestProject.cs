using System.Diagnostics;
using System.Text;
using System.Xml.Linq;

namespace Kneron.Build.Tests.EndToEnd;

/// <summary>
/// A project written into a temporary folder: a csproj, a NuGet.config whose
/// sources are the packed packages and nuget.org, and models with their
/// YAML configs and calibration images. <see cref="Build"/> runs the real
/// `dotnet build` on it.
/// </summary>
public sealed class TestProject
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);

    private readonly BuildEnvironment _environment;
    private readonly List<XElement> _items = new();
    private int _buildCount;

    public TestProject(BuildEnvironment environment, string folderName)
    {
        _environment = environment;
        Folder = Path.Combine(environment.RunFolder, folderName);
        ProjectFile = Path.Combine(Folder, "App.csproj");
        Directory.CreateDirectory(Folder);
        File.WriteAllText(Path.Combine(Folder, "Program.cs"), "System.Console.WriteLine(\"Hello\");\n");
        WriteNuGetConfig();
    }

    public string Folder { get; }

    public string ProjectFile { get; private set; }

    public string OutputFolder => Path.Combine(Folder, "bin", "Debug", "net10.0");

    public string IntermediateFolder => Path.Combine(Folder, "obj", "Debug", "net10.0", "kneron");

    /// <summary>
    /// Copies BlazeFace to <paramref name="modelPath"/> (relative to the project)
    /// with its config beside it and the given images in an images/ folder there.
    /// </summary>
    public void AddModel(string modelPath, string config, params string[] images) =>
        AddModelFrom(_environment.BlazeFaceModel, modelPath, config, images);

    /// <summary>
    /// Copies <paramref name="sourceModel"/> to <paramref name="modelPath"/> (relative
    /// to the project) with its config beside it and the given images in an images/ folder there.
    /// </summary>
    public void AddModelFrom(string sourceModel, string modelPath, string config, params string[] images)
    {
        var model = Path.Combine(Folder, modelPath);
        var modelFolder = Path.GetDirectoryName(model)!;
        Directory.CreateDirectory(Path.Combine(modelFolder, "images"));
        File.Copy(sourceModel, model);
        File.WriteAllText(ConfigPath(modelPath), config);
        foreach (var image in images)
        {
            File.Copy(Path.Combine(_environment.ImagesFolder, image), Path.Combine(modelFolder, "images", image));
        }

        ReferenceModel(modelPath);
    }

    /// <summary>Declares a KneronModel item for a model already in place, such as one that another project's <see cref="AddModel"/> copied.</summary>
    public void ReferenceModel(string modelPath) =>
        _items.Add(new XElement("KneronModel", new XAttribute("Include", EscapeForMSBuild(modelPath))));

    /// <summary>Sets metadata on the KneronModel item that <see cref="AddModel"/> declared for <paramref name="modelPath"/>.</summary>
    public void SetMetadata(string modelPath, string name, string value)
    {
        var include = EscapeForMSBuild(modelPath);
        var items = _items.Where(item => (string)item.Attribute("Include")! == include).ToList();
        Assert.True(items.Count > 0, $"No KneronModel item for {modelPath}.");
        items.Last().SetAttributeValue(name, value);
    }

    /// <summary>
    /// Copies the project in <paramref name="sourceFolder"/> (without bin/, obj/
    /// and NuGet.config) into a new test folder that builds against the packed
    /// packages, and builds <paramref name="projectFileName"/> from then on.
    /// </summary>
    public static TestProject CopyOf(BuildEnvironment environment, string sourceFolder, string folderName, string projectFileName)
    {
        var project = new TestProject(environment, folderName);
        foreach (var file in Directory.EnumerateFiles(sourceFolder, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(sourceFolder, file);
            var topFolder = relative.Split(Path.DirectorySeparatorChar)[0];
            if (topFolder is "bin" or "obj" || relative == "NuGet.config")
            {
                continue;
            }

            var target = Path.Combine(project.Folder, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }

        project.ProjectFile = Path.Combine(project.Folder, projectFileName);
        return project;
    }

    public string ConfigPath(string modelPath) =>
        Path.Combine(Folder, Path.ChangeExtension(modelPath, ".quant.yaml"));

    /// <summary>Writes App.csproj, with a PackageReference to Kneron.Build or through Kneron.Build.Sdk.</summary>
    public void WriteProjectFile(bool useSdk = false)
    {
        var sdk = useSdk ? $"Kneron.Build.Sdk/{_environment.PackageVersion}" : "Microsoft.NET.Sdk";
        var itemGroup = new XElement("ItemGroup", _items);
        if (!useSdk)
        {
            itemGroup.AddFirst(new XElement("PackageReference",
                new XAttribute("Include", "Kneron.Build"),
                new XAttribute("Version", _environment.PackageVersion)));
        }

        var project = new XElement("Project",
            new XAttribute("Sdk", sdk),
            new XElement("PropertyGroup",
                new XElement("OutputType", "Exe"),
                new XElement("TargetFramework", "net10.0")),
            itemGroup);
        new XDocument(project).Save(ProjectFile);
    }

    /// <summary>Runs `dotnet build` at normal verbosity with a binary log, and returns its exit code and output.</summary>
    public BuildResult Build()
    {
        var output = new StringBuilder();
        using var process = StartBuild(output);
        if (!process.WaitForExit(BuildTimeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet build of {ProjectFile} did not finish within {BuildTimeout.TotalMinutes} minutes. Output so far:\n{output}");
        }

        process.WaitForExit();
        return new BuildResult(process.ExitCode, output.ToString());
    }

    /// <summary>
    /// Starts `dotnet build` at normal verbosity with a binary log, appending its
    /// output lines to <paramref name="output"/>. With <paramref name="inOwnSession"/>
    /// it starts through `setsid`, so the build and its child processes form a
    /// process group of their own, as a command typed in a terminal does, and
    /// the group's id is the returned process's id.
    /// </summary>
    public Process StartBuild(StringBuilder output, bool inOwnSession = false)
    {
        _buildCount++;
        var binaryLog = Path.Combine(Folder, $"build{_buildCount}.binlog");
        var start = new ProcessStartInfo(inOwnSession ? "setsid" : DotnetExecutable())
        {
            WorkingDirectory = Folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };

        // setsid runs the command in place (it forks only when the caller leads a
        // process group, which a child of the test host does not). env then resets
        // SIGINT to its default: a test host started in the background by a
        // script inherits SIGINT ignored, and so would the build, unlike a build
        // typed in a terminal.
        var command = inOwnSession ? new[] { "env", "--default-signal=INT", DotnetExecutable() } : Array.Empty<string>();
        foreach (var argument in command.Concat(new[] { "build", ProjectFile, "-nodeReuse:false", "-tl:off", "-v:n", $"-bl:{binaryLog}" }))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["NUGET_PACKAGES"] = _environment.NuGetPackagesFolder;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";

        // The test host runs under `dotnet test`, which sets these for its own
        // MSBuild; inherited, they would point the child build at that one.
        foreach (var name in new[] { "KNERON_TOOL_PATH", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildExtensionsPath", "MSBuildLoadMicrosoftTargetsReadOnly" })
        {
            start.Environment.Remove(name);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    // MSBuild reads '%' and ';' in an Include as escapes and separators.
    private static string EscapeForMSBuild(string path) =>
        path.Replace("%", "%25").Replace(";", "%3B");

    private static void Append(StringBuilder output, string? line)
    {
        if (line == null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private static string DotnetExecutable()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }

    private void WriteNuGetConfig()
    {
        // Package source mapping makes the Kneron packages come from the packed
        // folder only, never from a feed that may hold the same version.
        var config = new XElement("configuration",
            new XElement("packageSources",
                new XElement("clear"),
                new XElement("add", new XAttribute("key", "local"), new XAttribute("value", _environment.PackagesFolder)),
                new XElement("add", new XAttribute("key", "nuget.org"), new XAttribute("value", "https://api.nuget.org/v3/index.json"))),
            new XElement("packageSourceMapping",
                new XElement("packageSource", new XAttribute("key", "local"),
                    new XElement("package", new XAttribute("pattern", "Kneron.*"))),
                new XElement("packageSource", new XAttribute("key", "nuget.org"),
                    new XElement("package", new XAttribute("pattern", "*")))));
        new XDocument(config).Save(Path.Combine(Folder, "NuGet.config"));
    }
}
