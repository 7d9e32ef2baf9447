using System.Security.Cryptography;
using System.Text.Json;
using Kneron.Quantization.Analysis;
using Kneron.Quantization.Planning;

namespace Kneron.Quantization.Artifacts;

/// <summary>
/// Writes <c>&lt;name&gt;.quant.json</c>, the quantization table. Field names
/// are a contract with downstream tools: fields may be added, never renamed.
/// SNR values of +∞ (no noise at all) are written as null.
/// </summary>
public static class QuantTableWriter
{
    public static void Write(Stream stream, AnalysisResult result, string toolVersion)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        var config = result.Config;
        json.WriteStartObject();
        json.WriteString("tool_version", toolVersion);
        json.WriteString("platform", ((int)config.Platform.Value).ToString());
        json.WriteString("datapath_bitwidth_mode", ModeResolver.ModeName(config.DatapathBitwidthMode.Value));
        json.WriteString("weight_bitwidth_mode", ModeResolver.ModeName(config.WeightBitwidthMode.Value));
        json.WriteString("model_in_bitwidth_mode", "int" + (int)result.Bits.ModelIn);
        json.WriteNumber("flops_ratio", config.FlopsRatio.Value);
        json.WriteString("model_out_bitwidth_mode", "int" + (int)result.Bits.ModelOut);
        json.WriteString("cpu_node_bitwidth_mode", "int" + (int)result.Bits.CpuNode);
        json.WriteString("const_in_bitwidth_mode", "int" + (int)result.Bits.ConstIn);
        json.WriteString("datapath_range_method", config.DatapathRangeMethod.Value.ToString().ToLowerInvariant());
        json.WriteNumber("percentage", config.Percentage.Value);
        json.WriteNumber("percentage_16b", config.Percentage16b.Value);
        json.WriteNumber("snr_threshold_db", result.SnrThresholdDb);
        WriteDb(json, "snr_db", result.SnrDb);
        json.WriteBoolean("passed", result.Passed);
        json.WriteNumber("seconds", Math.Round(result.Elapsed.TotalSeconds, 3));

        json.WriteNumber("sixteen_bit_conv_macs_share", Math.Round(result.SixteenBitConvShare, 4));

        json.WriteStartArray("sensitivity");
        foreach (var entry in result.Sensitivity)
        {
            json.WriteStartObject();
            json.WriteString("node", entry.Node);
            json.WriteString("kind", entry.Kind);
            json.WriteNumber("macs", entry.Macs);
            WriteDb(json, "snr_db", entry.SnrDb);
            json.WriteBoolean("promoted", entry.Promoted);
            json.WriteEndObject();
        }

        json.WriteEndArray();

        json.WriteStartArray("outputs");
        foreach (var output in result.Outputs)
        {
            json.WriteStartObject();
            json.WriteString("name", output.Name);
            WriteDb(json, "snr_db", output.SnrDb);
            json.WriteString("evaluated_tensor", output.EvaluatedTensor);
            json.WriteEndObject();
        }

        json.WriteEndArray();

        json.WriteStartArray("tensors");
        foreach (var tensor in result.Table)
        {
            json.WriteStartObject();
            json.WriteString("name", tensor.Name);
            json.WriteString("kind", tensor.Kind);
            json.WriteString("role", tensor.Role);
            json.WriteNumber("bitwidth", (int)tensor.Bits);
            json.WriteBoolean("unsigned", tensor.Unsigned);
            WriteNumbers(json, "scales", tensor.Scales);
            WriteNumbers(json, "zero_points", tensor.ZeroPoints.Select(z => (double)z));
            if (tensor.Axis is { } axis)
            {
                json.WriteNumber("axis", axis);
            }
            else
            {
                json.WriteNull("axis");
            }

            WriteNumbers(json, "range", new[] { tensor.RangeMin, tensor.RangeMax });
            WriteNumbers(json, "radix", tensor.Radix.Select(r => (double)r));
            WriteNumbers(json, "kneron_scale", tensor.KneronScale);
            json.WriteEndObject();
        }

        json.WriteEndArray();

        json.WriteStartArray("layers");
        foreach (var layer in result.Layers)
        {
            json.WriteStartObject();
            json.WriteString("node", layer.Node);
            json.WriteString("op_type", layer.OpType);
            json.WriteString("category", layer.Category);
            if (layer.Tensor is null)
            {
                json.WriteNull("tensor");
            }
            else
            {
                json.WriteString("tensor", layer.Tensor);
            }

            WriteOptional(json, "datapath_bits", layer.DatapathBits);
            WriteOptional(json, "weight_bits", layer.WeightBits);
            WriteDb(json, "snr_db", layer.SnrDb);
            WriteDb(json, "snr_db_local", layer.SnrDbLocal);
            FpsTableFields.WriteLayer(json, result.FpsEstimate?.ForNode(layer.Node));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        FpsTableFields.WriteModel(json, result);

        json.WriteStartArray("cpu_nodes");
        foreach (var node in result.CpuNodes)
        {
            json.WriteStringValue(node);
        }

        json.WriteEndArray();

        json.WriteStartObject("calibration");
        WriteStrings(json, "files", result.Calibration.UsedFiles);
        json.WriteNumber("samples", result.Calibration.Count);
        json.WriteString("evaluation", result.Evaluation is null ? "calibration set" : "evaluation set");
        if (result.Evaluation is not null)
        {
            WriteStrings(json, "evaluation_files", result.Evaluation.UsedFiles);
        }

        json.WriteEndObject();

        json.WriteStartObject("inputs_sha256");
        json.WriteString(result.ModelPath, result.ModelSha256);
        foreach (var file in result.QuantizedModel.Graph.ExternalDataFiles)
        {
            json.WriteString(file, Cache.FileHashes.Sha256(file));
        }

        json.WriteString(config.FilePath, config.Sha256);
        var dataFiles = result.Calibration.MatchedFiles.Concat(result.Evaluation?.MatchedFiles ?? Array.Empty<string>()).Distinct();
        foreach (var file in dataFiles)
        {
            json.WriteString(file, Cache.FileHashes.Sha256(file));
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteDb(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            json.WriteNumber(name, Math.Round(v, 4));
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, int? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void WriteNumbers(Utf8JsonWriter json, string name, IEnumerable<double> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteNumberValue(value);
        }

        json.WriteEndArray();
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }
}
