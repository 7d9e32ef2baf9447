using System.Runtime.InteropServices;
using System.Text.Json;
using Kneron.Quantization.Analysis;
using Kneron.Quantization.Config;
using Kneron.Quantization.Diagnostics;

namespace Kneron.Quantization.Tests;

/// <summary>
/// Checks the engine's SNR on a one-Conv model against an independent
/// computation in double precision: quantize the input, the per-channel
/// weights and the output by hand with the documented rules (symmetric,
/// round half to even, saturate; min/max ranges), run the convolution
/// directly, and apply the SNR formula.
/// </summary>
public sealed class HandComputedSnrTests
{
    private const int Height = 5;
    private const int Width = 6;
    private const int OutChannels = 2;

    private static readonly float[] Weights =
    {
        // Channel 0: an edge detector.
        -1.0f, 0.0f, 1.0f, -2.0f, 0.0f, 2.0f, -1.0f, 0.0f, 1.0f,
        // Channel 1: a smoothing kernel with one odd weight, so the channels need different scales.
        0.05f, 0.1f, 0.05f, 0.1f, 0.37f, 0.1f, 0.05f, 0.1f, 0.05f,
    };

    private static readonly float[] Bias = { 0.25f, -0.1f };

    [Theory]
    [InlineData("int8")]
    [InlineData("int16")]
    public void ConvSnrMatchesHandComputation(string width)
    {
        using var folder = new TestFolder();
        var samples = MakeSamples(4);
        for (int i = 0; i < samples.Length; i++)
        {
            folder.WriteBytes($"calib/s{i}.npy", NpyFiles.Build("<f4", $"(1, 1, {Height}, {Width})", MemoryMarshal.AsBytes(samples[i].AsSpan()).ToArray()));
        }

        var model = new OnnxBuilder()
            .Input("x", 1, 1, Height, Width)
            .Initializer("w", new long[] { OutChannels, 1, 3, 3 }, Weights)
            .Initializer("b", new long[] { OutChannels }, Bias)
            .Node("Conv", new[] { "x", "w", "b" }, new[] { "y" }, "conv", OnnxBuilder.Ints("pads", 1, 1, 1, 1))
            .Output("y")
            .Save(folder.Combine("conv.onnx"));
        var configPath = folder.WriteText("conv.quant.yaml", $"""
            platform: 730
            datapath_bitwidth_mode: {width}
            weight_bitwidth_mode: {width}
            model_in_bitwidth_mode: {width}
            model_out_bitwidth_mode: {width}
            datapath_range_method: minmax
            calibration:
              tensors: "calib/*.npy"
            """);

        var config = ConfigLoader.Load(configPath);
        var result = new Analyzer(new DiagnosticBag()).Analyze(model, config);

        int bits = width == "int16" ? 16 : 8;
        var expected = IndependentSnrDb(samples, bits, out var expectedWeightScales);

        Assert.Single(result.Outputs);
        Assert.Equal(expected, result.Outputs[0].SnrDb, 0.01);
        var weightEntry = result.Table.Single(t => t.Name == "w");
        Assert.Equal(expectedWeightScales[0], weightEntry.Scales[0], 1e-7);
        Assert.Equal(expectedWeightScales[1], weightEntry.Scales[1], 1e-7);
    }

    private static float[][] MakeSamples(int count)
    {
        var random = new Random(20261204);
        return Enumerable.Range(0, count)
            .Select(_ => Enumerable.Range(0, Height * Width).Select(_ => (float)(random.NextDouble() * 4 - 1.5)).ToArray())
            .ToArray();
    }

    private static double IndependentSnrDb(float[][] samples, int bits, out double[] weightScales)
    {
        int qmax = (1 << (bits - 1)) - 1;
        int qmin = -qmax - 1;
        double Fake(double value, float scale) => Math.Clamp(Math.Round(value / scale, MidpointRounding.ToEven), qmin, qmax) * scale;

        // Input: one symmetric scale from the largest |x| of all samples.
        float inputScale = (float)(samples.SelectMany(s => s).Max(v => Math.Abs(v)) / qmax);

        // Weights: one symmetric scale per output channel.
        weightScales = new double[OutChannels];
        var quantizedWeights = new double[Weights.Length];
        for (int c = 0; c < OutChannels; c++)
        {
            float scale = (float)(Weights.Skip(c * 9).Take(9).Max(w => Math.Abs(w)) / qmax);
            weightScales[c] = scale;
            for (int k = 0; k < 9; k++)
            {
                quantizedWeights[c * 9 + k] = Fake(Weights[c * 9 + k], scale);
            }
        }

        var floatOutputs = samples.Select(s => Convolve(s.Select(v => (double)v).ToArray(), Weights.Select(w => (double)w).ToArray())).ToArray();
        float outputScale = (float)(floatOutputs.SelectMany(o => o).Max(v => Math.Abs(v)) / qmax);

        double signal = 0, noise = 0;
        for (int i = 0; i < samples.Length; i++)
        {
            var quantizedInput = samples[i].Select(v => Fake(v, inputScale)).ToArray();
            var quantizedOutput = Convolve(quantizedInput, quantizedWeights).Select(v => Fake(v, outputScale)).ToArray();
            for (int j = 0; j < quantizedOutput.Length; j++)
            {
                signal += floatOutputs[i][j] * floatOutputs[i][j];
                noise += (floatOutputs[i][j] - quantizedOutput[j]) * (floatOutputs[i][j] - quantizedOutput[j]);
            }
        }

        return 10 * Math.Log10(signal / noise);
    }

    /// <summary>A 3×3 convolution with zero padding 1, stride 1, one input channel.</summary>
    private static double[] Convolve(double[] input, double[] weights)
    {
        var output = new double[OutChannels * Height * Width];
        for (int c = 0; c < OutChannels; c++)
        {
            for (int y = 0; y < Height; y++)
            {
                for (int x = 0; x < Width; x++)
                {
                    double sum = Bias[c];
                    for (int ky = 0; ky < 3; ky++)
                    {
                        for (int kx = 0; kx < 3; kx++)
                        {
                            int iy = y + ky - 1, ix = x + kx - 1;
                            if (iy >= 0 && iy < Height && ix >= 0 && ix < Width)
                            {
                                sum += input[iy * Width + ix] * weights[c * 9 + ky * 3 + kx];
                            }
                        }
                    }

                    output[(c * Height + y) * Width + x] = sum;
                }
            }
        }

        return output;
    }
}
