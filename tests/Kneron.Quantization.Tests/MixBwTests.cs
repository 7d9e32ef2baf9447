using System.Globalization;
using System.Text.Json;

namespace Kneron.Quantization.Tests;

/// <summary>
/// mixbw on BlazeFace: the Convs it runs in 16 bit are exactly those its own
/// debug CSVs rank most sensitive, taken in rank order within the
/// flops_ratio budget, re-derived here from the CSVs alone.
/// </summary>
public sealed class MixBwTests
{
    private sealed record Row(string Node, string Kind, long Macs, double SnrDb, bool Promoted);

    [Theory]
    [InlineData(0.05)]
    [InlineData(0.2)]
    [InlineData(0.5)]
    public void PromotesMostSensitiveWithinBudget(double flopsRatio)
    {
        using var folder = new TestFolder();
        var output = folder.Combine("out");
        var ratio = flopsRatio.ToString(CultureInfo.InvariantCulture);
        var result = CliResult.Run("analyze", TestModels.ModelPath("blazeface_front"), "--config", TestModels.ConfigPath("blazeface_front"),
            "--output", output, "--set", "datapath_bitwidth_mode=mixbw", "--set", "weight_bitwidth_mode=mixbw",
            "--set", $"flops_ratio={ratio}", "--set", "debug=true", "--set", "on_low_snr=warning");
        Assert.True(result.ExitCode == 0, result.Error);

        var rows = ReadCsv(Path.Combine(output, "data", "blazeface_front.sensitivity.csv"), "datapath")
            .Concat(ReadCsv(Path.Combine(output, "weight", "blazeface_front.sensitivity.csv"), "weight"))
            .ToList();

        // Each file lists every Conv once, most sensitive first.
        var datapathRows = rows.Where(r => r.Kind == "datapath").ToList();
        Assert.Equal(datapathRows.Select(r => r.SnrDb).Order(), datapathRows.Select(r => r.SnrDb));
        Assert.Equal(datapathRows.Count, datapathRows.Select(r => r.Node).Distinct().Count());

        // Walk the joint ranking: a node's MACs count once against the budget.
        double totalMacs = rows.GroupBy(r => r.Node).Sum(g => (double)g.First().Macs);
        double budget = flopsRatio * totalMacs, used = 0;
        var counted = new HashSet<string>();
        var expected = new HashSet<(string, string)>();
        foreach (var row in rows.OrderBy(r => r.SnrDb).ThenBy(r => r.Node, StringComparer.Ordinal).ThenBy(r => r.Kind, StringComparer.Ordinal))
        {
            if (counted.Contains(row.Node) || used + row.Macs <= budget)
            {
                if (counted.Add(row.Node))
                {
                    used += row.Macs;
                }

                expected.Add((row.Node, row.Kind));
            }
        }

        Assert.InRange(used, 0, budget);
        Assert.Equal(expected.Order(), rows.Where(r => r.Promoted).Select(r => (r.Node, r.Kind)).Order());

        // The quantization table runs exactly those at 16 bit, and no Conv whose output is a model output
        // (fixed at int16 by model_out_bitwidth_mode under mixbw) is ranked for its datapath.
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "blazeface_front.quant.json")));
        var layers = json.RootElement.GetProperty("layers").EnumerateArray().ToDictionary(l => l.GetProperty("node").GetString()!);
        var modelOutputs = json.RootElement.GetProperty("tensors").EnumerateArray()
            .Where(t => t.GetProperty("role").GetString() == "model_out")
            .Select(t => t.GetProperty("name").GetString())
            .ToHashSet();
        Assert.DoesNotContain(datapathRows, r => modelOutputs.Contains(layers[r.Node].GetProperty("tensor").GetString()));
        foreach (var row in rows)
        {
            var bits = layers[row.Node].GetProperty(row.Kind == "datapath" ? "datapath_bits" : "weight_bits").GetInt32();
            Assert.True(bits == (expected.Contains((row.Node, row.Kind)) ? 16 : 8), $"{row.Node} {row.Kind}: {bits} bits");
        }
    }

    private static IEnumerable<Row> ReadCsv(string path, string kind)
    {
        Assert.True(File.Exists(path), $"{path} was not written");
        var lines = File.ReadAllLines(path);
        Assert.Equal("rank,node,macs,predicted_snr_db,promoted", lines[0]);
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            yield return new Row(cells[1], kind, long.Parse(cells[2], CultureInfo.InvariantCulture),
                double.Parse(cells[3], CultureInfo.InvariantCulture), cells[4] == "true");
        }
    }
}
