using System.Text.Json;

// The build put the artifacts of models/face.onnx beside this program.
var folder = Path.Combine(AppContext.BaseDirectory, "models");
var tablePath = Path.Combine(folder, "face.quant.json");
if (!File.Exists(tablePath))
{
    Console.Error.WriteLine($"{tablePath} is missing; build the project with `dotnet build` first.");
    return 1;
}

using var table = JsonDocument.Parse(File.ReadAllText(tablePath));
var root = table.RootElement;
Console.WriteLine($"Quantized model: {Path.Combine(folder, "face.quant.onnx")}");
Console.WriteLine($"Platform: KL{root.GetProperty("platform")}");
Console.WriteLine($"Datapath: {root.GetProperty("datapath_bitwidth_mode")}, weight: {root.GetProperty("weight_bitwidth_mode")}");
foreach (var output in root.GetProperty("outputs").EnumerateArray())
{
    Console.WriteLine($"SNR of {output.GetProperty("name")}: {output.GetProperty("snr_db")} dB");
}

Console.WriteLine($"Report: {Path.Combine(folder, "face.report.html")}");
return 0;
