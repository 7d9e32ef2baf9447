using Kneron.Quantization.Config;
using Kneron.Quantization.Planning;

namespace Kneron.Quantization.Analysis;

/// <summary>
/// One mixbw candidate: a Conv node and the kind of tensor ranked
/// (<c>datapath</c> for its output, <c>weight</c> for its weights), with the
/// model-output SNR measured when only this one is at 8 bit and everything
/// else at 16 bit. Lower SNR means more sensitive.
/// </summary>
public sealed record SensitivityEntry(string Node, string Kind, long Macs, double SnrDb, bool Promoted);

/// <summary>
/// mixbw's sensitivity-guided choice, in three phases: measure each
/// candidate's sensitivity, rank them (most sensitive first), and promote
/// them to 16 bit in that order while the promoted nodes' MACs stay within
/// <c>flops_ratio</c> × all Conv MACs. A candidate that would exceed the
/// budget is skipped and the walk goes on. A node whose other kind is
/// already promoted costs nothing more, since its MACs count once.
/// </summary>
public static class MixBwSearch
{
    /// <param name="evaluate">Returns the minimum output SNR in dB of one configuration.</param>
    public static (MixBwSelection Selection, IReadOnlyList<SensitivityEntry> Ranking) Run(
        ModeRequest request, IReadOnlyList<ConvCost> convs, QuantPlan structure, QuantConfig config, Func<BitwidthSettings, double> evaluate)
    {
        var allNodes = convs.Select(c => c.Layer.Node).ToHashSet();
        var kinds = new List<string>();
        if (request.Datapath == BitwidthMode.MixBw)
        {
            kinds.Add("datapath");
        }

        if (request.Weight == BitwidthMode.MixBw)
        {
            kinds.Add("weight");
        }

        // Phase 1: one configuration per candidate, everything at 16 bit but the candidate.
        // Convs whose output width another key fixes (model output, CPU node) are no datapath candidates.
        var datapathCandidates = ModeSettings.DatapathCandidates(convs, structure).Select(c => c.Layer.Node).ToHashSet();
        var measured = new List<(ConvCost Conv, string Kind, double SnrDb)>();
        foreach (var conv in convs)
        {
            foreach (var kind in kinds.Where(k => k == "weight" || datapathCandidates.Contains(conv.Layer.Node)))
            {
                var others = allNodes.Where(n => n != conv.Layer.Node).ToHashSet();
                var selection = kind == "datapath"
                    ? new MixBwSelection(others, allNodes)
                    : new MixBwSelection(allNodes, others);
                measured.Add((conv, kind, evaluate(ModeSettings.For(request, convs, structure, config, selection))));
            }
        }

        // Phase 2: most sensitive first; ties in a fixed order so runs are reproducible.
        var ranked = measured
            .OrderBy(m => m.SnrDb)
            .ThenBy(m => m.Conv.Layer.Node, StringComparer.Ordinal)
            .ThenBy(m => m.Kind, StringComparer.Ordinal)
            .ToList();

        // Phase 3: promote within the budget.
        double budget = ModeSettings.TotalMacs(convs) * config.FlopsRatio.Value;
        double used = 0;
        var counted = new HashSet<string>();
        var datapathNodes = new HashSet<string>();
        var weightNodes = new HashSet<string>();
        var ranking = new List<SensitivityEntry>();
        foreach (var (conv, kind, snr) in ranked)
        {
            var node = conv.Layer.Node;
            bool promote = counted.Contains(node) || used + conv.Macs <= budget;
            if (promote && counted.Add(node))
            {
                used += conv.Macs;
            }

            if (promote)
            {
                (kind == "datapath" ? datapathNodes : weightNodes).Add(node);
            }

            ranking.Add(new SensitivityEntry(node, kind, conv.Macs, snr, promote));
        }

        // A side that is not ranked runs every Conv at 16 bit.
        var final = new MixBwSelection(
            kinds.Contains("datapath") ? datapathNodes : allNodes,
            kinds.Contains("weight") ? weightNodes : allNodes);
        return (final, ranking);
    }
}
