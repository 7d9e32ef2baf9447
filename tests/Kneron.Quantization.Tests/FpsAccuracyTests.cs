using System.Globalization;
using System.Text;
using Kneron.Quantization.Analysis;
using Kneron.Quantization.Calibration;
using Kneron.Quantization.Config;
using Kneron.Quantization.Model;
using Kneron.Quantization.Performance;
using Kneron.Quantization.Planning;
using Onnx;
using Xunit.Abstractions;

namespace Kneron.Quantization.Tests;

/// <summary>A reference network with its measured shapes and its int8 plan per platform.</summary>
public sealed record ReferenceNetwork(string Name, OnnxGraph Graph, TensorShapes Shapes, IReadOnlyDictionary<Platform, QuantPlan> Plans, double[] PublishedFps)
{
    public FpsEstimate Estimate(PlatformParameters parameters) => FpsEstimator.Estimate(Graph, Shapes, Plans[parameters.Platform], parameters);

    /// <summary>The network's int8 work on a platform with the given on-chip buffer, in bytes.</summary>
    public IReadOnlyList<LayerWork> Work(Platform platform, long onChipBufferBytes) =>
        LayerWork.Of(Graph, Shapes, Plans[platform], onChipBufferBytes);
}

/// <summary>
/// The reference networks, built once with their shapes measured in ONNX
/// Runtime and planned in int8 on every platform. Published FPS come from
/// Kneron document_center, docs/toolchain/appendix/performance.md at commit
/// 1f25df2d12878cb87dcf206e157e4de85f3a3352 (toolchain v0.27 evaluator,
/// int8, NPU only), in the order of <see cref="Platforms"/>.
/// </summary>
public sealed class ReferenceNetworkFixture
{
    public static readonly Platform[] Platforms = { Platform.KL520, Platform.KL720, Platform.KL530, Platform.KL630, Platform.KL730 };

    public ReferenceNetworkFixture()
    {
        Fitted = new[]
        {
            Prepare("MobileNet v2 (224)", ReferenceNetworks.MobileNetV2(), 54.18, 683.1, 342.3, 218.9, 812.5),
            Prepare("ResNet50 v1.5 (224)", ReferenceNetworks.ResNet50(), 6.925, 54.89, 36.79, 22.91, 79.03),
            Prepare("Tiny YOLOv3 (416)", ReferenceNetworks.TinyYoloV3(), 21.80, 155.2, 72.59, 100.3, 201.9),
        };
        HeldOut = Prepare("MobileNet v1 (224)", ReferenceNetworks.MobileNetV1(), 56.80, 432.6, 284.7, 219.6, 610.0);
    }

    /// <summary>The three networks the efficiencies are fitted on and the ±25% check runs on.</summary>
    public IReadOnlyList<ReferenceNetwork> Fitted { get; }

    /// <summary>A network left out of the fit, reported to show how the estimate does on unseen data.</summary>
    public ReferenceNetwork HeldOut { get; }

    private static ReferenceNetwork Prepare(string name, ModelProto model, params double[] publishedFps)
    {
        var graph = new OnnxGraph(model, name);
        var input = graph.RealInputs.Single();
        var shape = input.Type.TensorType.Shape.Dim.Select(d => d.DimValue).ToArray();
        var inputs = new[] { new ModelInput(input.Name, shape, IsFloat: true) };
        var sample = new Sample(new Dictionary<string, float[]> { [input.Name] = new float[shape.Aggregate(1L, (p, d) => p * d)] }, Array.Empty<string>());
        var shapes = TensorShapes.Measure(graph, inputs, sample);

        var floatTensors = graph.Graph.Node.SelectMany(n => n.Output).Concat(graph.RealInputs.Select(i => i.Name)).ToHashSet();
        var plans = Platforms.ToDictionary(p => p, p => new QuantPlanner(graph, floatTensors, p).Plan(BitwidthSettings.Uniform(BitWidth.Int8)));
        return new ReferenceNetwork(name, graph, shapes, plans, publishedFps);
    }
}

/// <summary>
/// Checks the int8 FPS estimate against Kneron's published evaluator figures
/// for MobileNet v2, ResNet50 v1.5 and Tiny YOLOv3 on all five platforms, and
/// that the fitted parameters in platforms.json are the least-squares ones.
/// Set FPS_ACCURACY_TABLE to a file path to write the table as Markdown.
/// </summary>
public sealed class FpsAccuracyTests : IClassFixture<ReferenceNetworkFixture>
{
    private const double Tolerance = 0.25;

    private const int RequiredCellsWithinTolerance = 12;

    /// <summary>Candidates for the shared fitted buffer size: powers of two from 256 KiB to 16 MiB.</summary>
    private static readonly long[] BufferCandidates = Enumerable.Range(18, 7).Select(power => 1L << power).ToArray();

    private static readonly Platform[] Platforms = ReferenceNetworkFixture.Platforms;

    private readonly ReferenceNetworkFixture _fixture;
    private readonly ITestOutputHelper _output;

    public FpsAccuracyTests(ReferenceNetworkFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    [Fact]
    public void EstimateWithinTwentyFivePercentInTwelveCells()
    {
        var table = new StringBuilder();
        table.AppendLine("| network | KL520 | KL720 | KL530 | KL630 | KL730 |");
        table.AppendLine("|---|---:|---:|---:|---:|---:|");
        int within = 0;
        foreach (var network in _fixture.Fitted)
        {
            table.Append(AppendRow(network, ref within));
        }

        int heldOutWithin = 0;
        var heldOutRow = AppendRow(_fixture.HeldOut, ref heldOutWithin);
        table.AppendLine().AppendLine($"{within} of 15 cells within ±25%.").AppendLine();
        table.AppendLine("Held out of the fit:").AppendLine();
        table.AppendLine("| network | KL520 | KL720 | KL530 | KL630 | KL730 |");
        table.AppendLine("|---|---:|---:|---:|---:|---:|");
        table.Append(heldOutRow);
        table.AppendLine().AppendLine($"{heldOutWithin} of 5 held-out cells within ±25%.").AppendLine();
        foreach (var network in _fixture.Fitted.Append(_fixture.HeldOut))
        {
            var unbuffered = network.Work(Platform.KL720, onChipBufferBytes: 0);
            var kl520 = network.Estimate(PlatformParameters.For(Platform.KL520));
            var kl720 = network.Estimate(PlatformParameters.For(Platform.KL720));
            table.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"- {network.Name}: {unbuffered.Sum(l => l.Macs) / 1e9:0.000} GMACs; DRAM traffic per inference in int8 {unbuffered.Sum(l => l.DramBytes) / 1e6:0.0} MB without a buffer, "
                + $"{kl520.Layers.Sum(l => l.Bytes) / 1e6:0.0} MB with KL520's, {kl720.Layers.Sum(l => l.Bytes) / 1e6:0.0} MB with KL720's."));
        }

        _output.WriteLine(table.ToString());
        if (Environment.GetEnvironmentVariable("FPS_ACCURACY_TABLE") is { Length: > 0 } path)
        {
            File.WriteAllText(path, table.ToString());
        }

        Assert.True(within >= RequiredCellsWithinTolerance, $"Only {within} of 15 cells are within ±25% of the published FPS:\n{table}");
    }

    /// <summary>
    /// Refits the parameters and checks that platforms.json contains them, so
    /// a change to the estimator or the data cannot leave stale values behind.
    /// First the buffer size shared by the platforms whose size is fitted: the
    /// smallest candidate with the least total loss over those platforms, each
    /// with its efficiencies refitted. Then each platform's compute and memory
    /// efficiency at the buffer size in the file.
    /// </summary>
    [Fact]
    public void DataFileHoldsFittedParameters()
    {
        var fittedBuffer = Platforms.Where(p => PlatformParameters.For(p).OnChipBufferBytes.Basis == "fitted").ToList();
        var totals = BufferCandidates
            .Select(buffer => (Buffer: buffer, Loss: fittedBuffer.Sum(p => FitEfficiencies(PlatformParameters.For(p), buffer).Loss)))
            .ToList();
        foreach (var (buffer, loss) in totals)
        {
            _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"shared on_chip_buffer_bytes {buffer} ({buffer / 1024} KiB): total loss {loss:0.0000}"));
        }

        double leastLoss = totals.Min(t => t.Loss);
        long chosen = totals.First(t => t.Loss <= leastLoss * (1 + 1e-9)).Buffer;
        _output.WriteLine($"chosen shared on_chip_buffer_bytes: {chosen}");

        var fits = Platforms.Select(p => (Platform: p, Fit: FitEfficiencies(PlatformParameters.For(p), (long)PlatformParameters.For(p).OnChipBufferBytes.Value))).ToList();
        foreach (var (platform, (compute, memory, loss)) in fits)
        {
            _output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"KL{(int)platform}: compute_efficiency {compute:0.0000}, memory_efficiency {memory:0.0000}, loss {loss:0.0000}"));
        }

        foreach (var platform in fittedBuffer)
        {
            double inFile = PlatformParameters.For(platform).OnChipBufferBytes.Value;
            Assert.True(inFile == chosen, $"KL{(int)platform}: the fitted on_chip_buffer_bytes is {chosen}, but platforms.json holds {inFile}.");
        }

        foreach (var (platform, (compute, memory, _)) in fits)
        {
            var parameters = PlatformParameters.For(platform);
            Assert.True(Math.Abs(compute / parameters.ComputeEfficiency.Value - 1) < 0.02,
                $"KL{(int)platform}: the fitted compute_efficiency is {compute:0.0000}, but platforms.json holds {parameters.ComputeEfficiency.Value:0.0000}.");
            Assert.True(Math.Abs(memory / parameters.MemoryEfficiency.Value - 1) < 0.02,
                $"KL{(int)platform}: the fitted memory_efficiency is {memory:0.0000}, but platforms.json holds {parameters.MemoryEfficiency.Value:0.0000}.");
        }
    }

    private static string AppendRow(ReferenceNetwork network, ref int within)
    {
        var row = new StringBuilder($"| {network.Name} |");
        for (int p = 0; p < Platforms.Length; p++)
        {
            double estimated = network.Estimate(PlatformParameters.For(Platforms[p])).Fps;
            double published = network.PublishedFps[p];
            double error = estimated / published - 1;
            if (Math.Abs(error) <= Tolerance)
            {
                within++;
            }

            row.Append(string.Create(CultureInfo.InvariantCulture, $" {estimated:0.#} / {published:0.##} ({error * 100:+0;-0;0}%) |"));
        }

        return row.AppendLine().ToString();
    }

    /// <summary>
    /// Minimises Σ (ln estimated FPS − ln published FPS)² over the three
    /// fitted networks at one buffer size, over compute efficiency in
    /// [0.01, 2] and memory efficiency in [0.01, 100], by a log-spaced grid
    /// search refined five times around the best point.
    /// </summary>
    private (double Compute, double Memory, double Loss) FitEfficiencies(PlatformParameters parameters, long onChipBufferBytes)
    {
        int platformIndex = Array.IndexOf(Platforms, parameters.Platform);
        var works = _fixture.Fitted.Select(n => (Work: n.Work(parameters.Platform, onChipBufferBytes), Published: n.PublishedFps[platformIndex])).ToList();
        double Loss(double compute, double memory)
        {
            var candidate = parameters with
            {
                ComputeEfficiency = parameters.ComputeEfficiency with { Value = compute },
                MemoryEfficiency = parameters.MemoryEfficiency with { Value = memory },
            };
            double sum = 0;
            foreach (var (work, published) in works)
            {
                double residual = Math.Log(FpsEstimator.Fps(work, candidate)) - Math.Log(published);
                sum += residual * residual;
            }

            return sum;
        }

        (double Low, double High) computeRange = (Math.Log(0.01), Math.Log(2)), memoryRange = (Math.Log(0.01), Math.Log(100));
        (double Compute, double Memory) best = default;
        double bestLoss = double.PositiveInfinity;
        for (int round = 0; round < 5; round++)
        {
            const int steps = 24;
            bestLoss = double.PositiveInfinity;
            for (int i = 0; i <= steps; i++)
            {
                for (int j = 0; j <= steps; j++)
                {
                    double c = computeRange.Low + (computeRange.High - computeRange.Low) * i / steps;
                    double m = memoryRange.Low + (memoryRange.High - memoryRange.Low) * j / steps;
                    double loss = Loss(Math.Exp(c), Math.Exp(m));
                    if (loss < bestLoss)
                    {
                        (best, bestLoss) = ((c, m), loss);
                    }
                }
            }

            double computeStep = (computeRange.High - computeRange.Low) / steps, memoryStep = (memoryRange.High - memoryRange.Low) / steps;
            computeRange = (Math.Max(Math.Log(0.01), best.Compute - computeStep), Math.Min(Math.Log(2), best.Compute + computeStep));
            memoryRange = (Math.Max(Math.Log(0.01), best.Memory - memoryStep), Math.Min(Math.Log(100), best.Memory + memoryStep));
        }

        return (Math.Exp(best.Compute), Math.Exp(best.Memory), bestLoss);
    }
}
