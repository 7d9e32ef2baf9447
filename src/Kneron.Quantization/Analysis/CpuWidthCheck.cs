using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;
using Kneron.Quantization.Planning;

namespace Kneron.Quantization.Analysis;

/// <summary>
/// Warns when the configured datapath mode runs the NPU tensors in 16 bit (int16, or mix balance,
/// which leaves only some Convs at 8 bits) while the CPU nodes stay at the default
/// <c>cpu_node_bitwidth_mode: int8</c>. Their 8-bit inputs and outputs then add the noise a
/// 16-bit mode is chosen to avoid: PP-OCR cls in int16 on KL720, whose NPU runs no HardSigmoid,
/// measures 25.45 dB this way and 44.47 dB with 16-bit CPU nodes.
/// </summary>
public static class CpuWidthCheck
{
    /// <summary>How many CPU nodes the message names.</summary>
    private const int NamedNodes = 3;

    /// <param name="mode">The mode the analysis ran. Auto and sweep choose CPU widths themselves, so they are not checked.</param>
    public static void Report(QuantConfig config, ModeRequest mode, ModeChoice choice, QuantPlan plan, IDiagnosticSink diagnostics)
    {
        bool wideDatapath = mode.Datapath is BitwidthMode.Int16 or BitwidthMode.MixBalance;
        // An explicit cpu_node_bitwidth_mode: int8 is the user's choice, so only the default is reported.
        bool defaultCpuWidth = !config.CpuNodeBitwidthMode.IsSet && mode.CpuNode == BitWidth.Int8;
        bool cpuTensorsAtEightBits = plan.Activations.Any(a => a.Role == ActivationRole.CpuNode && a.Bits == BitWidth.Int8);
        if (choice != ModeChoice.Configured || !wideDatapath || !defaultCpuWidth || !cpuTensorsAtEightBits)
        {
            return;
        }

        var cpuLayers = plan.Layers.Where(l => l.Category == "cpu").ToList();
        var opCounts = string.Join(", ", cpuLayers
            .GroupBy(l => l.OpType)
            .OrderByDescending(g => g.Count())
            .ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Count()} {g.Key}"));
        var named = string.Join(", ", cpuLayers.Take(NamedNodes).Select(l => $"'{l.Node}' ({l.OpType})"));
        var more = cpuLayers.Count > NamedNodes ? ", ..." : "";
        diagnostics.Report(new Diagnostic(ModeCodes.CpuNodesAtEightBits, DiagnosticSeverity.Warning, config.DatapathBitwidthMode.Location,
            $"datapath_bitwidth_mode is '{ModeResolver.ModeName(mode.Datapath)}', but the model's {cpuLayers.Count} CPU nodes ({opCounts}), which "
            + $"run on {config.Platform.Value}'s CPU, take cpu_node_bitwidth_mode, which is int8 by default: {named}{more}. "
            + "Their inputs and outputs are quantized to 8 bits. Set cpu_node_bitwidth_mode: int16 to remove that noise."));
    }
}
