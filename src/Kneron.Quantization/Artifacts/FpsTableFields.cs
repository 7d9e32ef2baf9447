using System.Text.Json;
using Kneron.Quantization.Analysis;
using Kneron.Quantization.Performance;

namespace Kneron.Quantization.Artifacts;

/// <summary>
/// The FPS fields of <c>&lt;name&gt;.quant.json</c>: per layer <c>macs</c>,
/// <c>est_time_ms</c> and <c>bound</c>; per model <c>fps_estimate</c>,
/// <c>modes_tried</c> and <c>chosen_mode</c>.
/// </summary>
public static class FpsTableFields
{
    /// <summary>Writes a layer's estimate; all three fields are null for a layer without one.</summary>
    public static void WriteLayer(Utf8JsonWriter json, LayerEstimate? estimate)
    {
        if (estimate is null)
        {
            json.WriteNull("macs");
            json.WriteNull("est_time_ms");
            json.WriteNull("bound");
            return;
        }

        json.WriteNumber("macs", estimate.Macs);
        json.WriteNumber("est_time_ms", Math.Round(estimate.TimeMs, 6));
        if (estimate.Bound is { } bound)
        {
            json.WriteString("bound", bound == Bound.Compute ? "compute" : "memory");
        }
        else
        {
            json.WriteNull("bound");
        }
    }

    /// <summary>
    /// Writes <c>fps_estimate</c> (null without an estimate; its <c>fps</c> is null when the
    /// model takes no NPU time), <c>modes_tried</c> and <c>chosen_mode</c>.
    /// </summary>
    public static void WriteModel(Utf8JsonWriter json, AnalysisResult result)
    {
        if (result.FpsEstimate is { } estimate)
        {
            json.WriteStartObject("fps_estimate");
            // A model with no NPU time (only CPU or reshape nodes) has an infinite FPS, which JSON cannot hold.
            if (double.IsFinite(estimate.Fps))
            {
                json.WriteNumber("fps", Math.Round(estimate.Fps, 3));
            }
            else
            {
                json.WriteNull("fps");
            }

            json.WriteNumber("time_ms", Math.Round(estimate.TimeMs, 4));
            json.WriteStartArray("assumptions");
            foreach (var assumption in estimate.Assumptions)
            {
                json.WriteStringValue(assumption);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("fps_estimate");
        }

        json.WriteStartArray("modes_tried");
        foreach (var mode in result.ModesTried)
        {
            json.WriteStartObject();
            json.WriteString("datapath_bitwidth_mode", mode.DatapathBitwidthMode);
            json.WriteString("weight_bitwidth_mode", mode.WeightBitwidthMode);
            if (double.IsFinite(mode.SnrDb))
            {
                json.WriteNumber("snr_db", Math.Round(mode.SnrDb, 4));
            }
            else
            {
                json.WriteNull("snr_db");
            }

            if (double.IsFinite(mode.Fps))
            {
                json.WriteNumber("fps", Math.Round(mode.Fps, 3));
            }
            else
            {
                json.WriteNull("fps");
            }

            json.WriteBoolean("passed", mode.SnrDb >= result.SnrThresholdDb);
            json.WriteBoolean("chosen", mode.Chosen);
            json.WriteEndObject();
        }

        json.WriteEndArray();

        var chosen = result.ModesTried.FirstOrDefault(m => m.Chosen);
        if (chosen is null)
        {
            json.WriteNull("chosen_mode");
        }
        else
        {
            json.WriteStartObject("chosen_mode");
            json.WriteString("datapath_bitwidth_mode", chosen.DatapathBitwidthMode);
            json.WriteString("weight_bitwidth_mode", chosen.WeightBitwidthMode);
            json.WriteEndObject();
        }
    }
}
