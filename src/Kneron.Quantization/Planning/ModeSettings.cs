using Kneron.Quantization.Config;

namespace Kneron.Quantization.Planning;

/// <summary>A Conv layer's MACs for one sample, the cost measure of the mixed modes (FLOPs = 2 × MACs, so ratios are the same).</summary>
public sealed record ConvCost(ConvLayer Layer, long Macs);

/// <summary>The (node, kind) pairs mixbw moved to 16 bit.</summary>
public sealed record MixBwSelection(IReadOnlySet<string> DatapathNodes, IReadOnlySet<string> WeightNodes);

/// <summary>
/// Turns a mode request into per-layer bit widths. The rules of mix light
/// and mix balance are ours (Kneron does not publish them):
/// <list type="bullet">
/// <item>mix light: candidates are the Convs whose input or output has at most
/// <c>mix_light_max_channels</c> channels; the cheapest go to 16 bit while the
/// 16-bit Conv MACs stay within <c>mix_light_flops_ratio</c> of all Conv MACs.
/// Every BatchNormalization left unfolded also runs in 16 bit; other NPU
/// tensors run in int8.</item>
/// <item>mix balance: all Convs, cheapest first, go to 16 bit while the 16-bit
/// Conv MACs stay within <c>mix_balance_flops_ratio</c>; every other NPU
/// tensor runs in int16.</item>
/// <item>mixbw: the Convs mixbw ranked most sensitive (see <see cref="MixBwSearch"/>)
/// run in 16 bit; every other NPU tensor runs in int16.</item>
/// </list>
/// A mode given for the weights applies the same rule to Conv weights; Gemm
/// and MatMul weights follow the mode's non-Conv width (int8 for mix light,
/// int16 for mix balance and mixbw).
/// </summary>
public static class ModeSettings
{
    public static BitwidthSettings For(ModeRequest request, IReadOnlyList<ConvCost> convs, QuantPlan structure, QuantConfig config, MixBwSelection? mixbw)
    {
        var nodeDatapath = new Dictionary<string, BitWidth>();
        var nodeWeight = new Dictionary<string, BitWidth>();

        var datapath = Side(request.Datapath, DatapathCandidates(convs, structure), config, mixbw?.DatapathNodes, nodeDatapath, TotalMacs(convs));
        var weight = Side(request.Weight, convs, config, mixbw?.WeightNodes, nodeWeight, TotalMacs(convs));

        if (request.Datapath == BitwidthMode.MixLight)
        {
            foreach (var layer in structure.Layers.Where(l => l.OpType == "BatchNormalization" && l.Category == "npu"))
            {
                nodeDatapath[layer.Node] = BitWidth.Int16;
            }
        }

        return new BitwidthSettings(datapath, weight, request.ModelIn, request.ModelOut, request.CpuNode, request.ConstIn)
        {
            NodeDatapath = nodeDatapath,
            NodeWeight = nodeWeight,
        };
    }

    /// <summary>Fills the per-Conv widths of one side (datapath or weights) and returns that side's width for everything else.</summary>
    private static BitWidth Side(BitwidthMode mode, IReadOnlyList<ConvCost> convs, QuantConfig config, IReadOnlySet<string>? promoted,
        Dictionary<string, BitWidth> perNode, double totalMacs)
    {
        switch (mode)
        {
            case BitwidthMode.Int4:
                return BitWidth.Int4;
            case BitwidthMode.Int8:
                return BitWidth.Int8;
            case BitwidthMode.Int16:
                return BitWidth.Int16;
            case BitwidthMode.MixLight:
                var maxChannels = config.MixLightMaxChannels.Value;
                var candidates = convs.Where(c => c.Layer.InChannels <= maxChannels || c.Layer.OutChannels <= maxChannels);
                Assign(perNode, convs, CheapestWithin(candidates, totalMacs * config.MixLightFlopsRatio.Value));
                return BitWidth.Int8;
            case BitwidthMode.MixBalance:
                Assign(perNode, convs, CheapestWithin(convs, totalMacs * config.MixBalanceFlopsRatio.Value));
                return BitWidth.Int16;
            case BitwidthMode.MixBw:
                Assign(perNode, convs, promoted ?? new HashSet<string>());
                return BitWidth.Int16;
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "auto is resolved into concrete modes before planning.");
        }
    }

    private static void Assign(Dictionary<string, BitWidth> perNode, IReadOnlyList<ConvCost> convs, IReadOnlySet<string> sixteenBit)
    {
        foreach (var conv in convs)
        {
            perNode[conv.Layer.Node] = sixteenBit.Contains(conv.Layer.Node) ? BitWidth.Int16 : BitWidth.Int8;
        }
    }

    /// <summary>The cheapest layers, in ascending MACs, while their total stays within the budget.</summary>
    public static IReadOnlySet<string> CheapestWithin(IEnumerable<ConvCost> candidates, double budgetMacs)
    {
        var chosen = new HashSet<string>();
        double total = 0;
        foreach (var conv in candidates.OrderBy(c => c.Macs).ThenBy(c => c.Layer.Node, StringComparer.Ordinal))
        {
            if (total + conv.Macs > budgetMacs)
            {
                break;
            }

            total += conv.Macs;
            chosen.Add(conv.Layer.Node);
        }

        return chosen;
    }

    /// <summary>
    /// The Convs whose output width a datapath mode decides: not those whose
    /// output is a model output or feeds a CPU node, since their own keys fix
    /// those widths and spending budget on them would change nothing.
    /// </summary>
    public static IReadOnlyList<ConvCost> DatapathCandidates(IReadOnlyList<ConvCost> convs, QuantPlan structure)
    {
        var roles = structure.Activations.ToDictionary(a => a.Tensor, a => a.Role);
        return convs.Where(c => roles.GetValueOrDefault(c.Layer.OutputTensor) == ActivationRole.Datapath).ToList();
    }

    public static double TotalMacs(IEnumerable<ConvCost> convs) => convs.Sum(c => (double)c.Macs);

    /// <summary>
    /// The modes <c>datapath_bitwidth_mode: auto</c> tries, cheapest first
    /// (the 16-bit share of Conv MACs grows down the list), without those the
    /// platform cannot run: int8 everywhere; mix light; mixbw; mix balance;
    /// int16 everywhere. From mix light on, model input, output and CPU nodes run in int16.
    /// </summary>
    public static IReadOnlyList<ModeRequest> AutoCandidates(Platform platform, BitWidth constIn)
    {
        var all = new List<ModeRequest>
        {
            new(BitwidthMode.Int8, BitwidthMode.Int8, BitWidth.Int8, BitWidth.Int8, BitWidth.Int8, constIn),
        };
        if (ModeResolver.AllowedWidths(platform).Contains(BitWidth.Int16))
        {
            var wide = BitWidth.Int16;
            all.Add(new(BitwidthMode.MixLight, BitwidthMode.MixLight, wide, wide, wide, constIn));
            all.Add(new(BitwidthMode.MixBw, BitwidthMode.MixBw, wide, wide, wide, constIn));
            all.Add(new(BitwidthMode.MixBalance, BitwidthMode.MixBalance, wide, wide, wide, constIn));
            all.Add(new(BitwidthMode.Int16, BitwidthMode.Int16, wide, wide, wide, wide));
        }

        return all;
    }
}
