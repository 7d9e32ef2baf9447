using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace Kneron.Quantization.Planning;

/// <summary>
/// Applies <c>quan_config</c>, KL730's per-node bit widths, on top of the
/// chosen mode: each entry names a node of the model and sets
/// <c>datapath_bitwidth_mode</c> (int8 or int16, the node's output) and/or
/// <c>weight_bitwidth_mode</c> (int4, int8 or int16, its weights), for example
/// <c>quan_config: { conv_3: { datapath_bitwidth_mode: int16 } }</c>.
/// A node fused into the Conv before it takes its width from that Conv.
/// </summary>
public static class QuanConfigOverrides
{
    public static BitwidthSettings Apply(BitwidthSettings settings, QuantConfig config, QuantPlan structure)
    {
        if (config.QuanConfig.Value is not { Count: > 0 } entries)
        {
            return settings;
        }

        var location = config.QuanConfig.Location;
        var layers = structure.Layers.ToDictionary(l => l.Node, StringComparer.Ordinal);
        var datapath = new Dictionary<string, BitWidth>(settings.NodeDatapath);
        var weight = new Dictionary<string, BitWidth>(settings.NodeWeight);

        foreach (var (node, text) in entries)
        {
            if (!layers.TryGetValue(node, out var layer))
            {
                throw new KnqException(ModeCodes.InvalidQuanConfig, location,
                    $"quan_config names node '{node}', which the model does not have. Use node names from the report's layer table.");
            }

            if (layer.Category == "fused")
            {
                throw new KnqException(ModeCodes.InvalidQuanConfig, location,
                    $"quan_config node '{node}' ({layer.OpType}) is fused into the Conv before it and has no width of its own; set that Conv's widths instead.");
            }

            foreach (var (key, value) in Parse(node, text, location))
            {
                switch (key)
                {
                    case "datapath_bitwidth_mode":
                        datapath[node] = Width(node, key, value, location, allowInt4: false);
                        break;
                    case "weight_bitwidth_mode" when layer.WeightInitializer is null:
                        throw new KnqException(ModeCodes.InvalidQuanConfig, location,
                            $"quan_config node '{node}' ({layer.OpType}) has no weights, so weight_bitwidth_mode does not apply to it.");
                    case "weight_bitwidth_mode":
                        weight[node] = Width(node, key, value, location, allowInt4: true);
                        break;
                    default:
                        throw new KnqException(ModeCodes.InvalidQuanConfig, location,
                            $"quan_config node '{node}' sets '{key}'; the per-node keys are datapath_bitwidth_mode and weight_bitwidth_mode.");
                }
            }
        }

        return settings with { NodeDatapath = datapath, NodeWeight = weight };
    }

    private static IEnumerable<(string Key, string Value)> Parse(string node, string text, SourceLocation location)
    {
        var yaml = new YamlStream();
        try
        {
            yaml.Load(new StringReader(text));
        }
        catch (YamlDotNet.Core.YamlException ex)
        {
            throw new KnqException(ModeCodes.InvalidQuanConfig, location, $"quan_config node '{node}' has invalid settings: {ex.Message}", ex);
        }

        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode mapping)
        {
            throw new KnqException(ModeCodes.InvalidQuanConfig, location,
                $"quan_config node '{node}' must map to settings such as {{ datapath_bitwidth_mode: int16 }}, got '{text}'.");
        }

        foreach (var (key, value) in mapping.Children)
        {
            yield return (((YamlScalarNode)key).Value ?? "", (value as YamlScalarNode)?.Value ?? "");
        }
    }

    private static BitWidth Width(string node, string key, string value, SourceLocation location, bool allowInt4) => value switch
    {
        "int8" => BitWidth.Int8,
        "int16" => BitWidth.Int16,
        "int4" when allowInt4 => BitWidth.Int4,
        _ => throw new KnqException(ModeCodes.InvalidQuanConfig, location,
            $"quan_config node '{node}' sets {key} to '{value}'; allowed: {(allowInt4 ? "int4, int8, int16" : "int8, int16")}."),
    };
}
