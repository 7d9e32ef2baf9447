// TEMPORARY: replaced by the real config and sample loaders at merge.
using Kneron.Quantization.Diagnostics;
using SkiaSharp;
using YamlDotNet.RepresentationModel;

namespace Kneron.Quantization.Config
{
    public static class ConfigLoader
    {
        public static QuantConfig Load(string yamlPath, IReadOnlyList<string>? overrides = null, SourceLocation? overridesSource = null, IDiagnosticSink? sink = null)
        {
            var full = Path.GetFullPath(yamlPath);
            var yaml = new YamlStream();
            using (var reader = new StreamReader(full)) yaml.Load(reader);
            var root = (YamlMappingNode)yaml.Documents[0].RootNode;
            var map = root.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => kv.Value);
            foreach (var o in overrides ?? Array.Empty<string>())
            {
                var parts = o.Split('=', 2);
                map[parts[0]] = new YamlScalarNode(parts[1]);
            }
            SourceLocation Loc(string key) => map.TryGetValue(key, out var n) ? new SourceLocation(full, (int)n.Start.Line, (int)n.Start.Column) : new SourceLocation(full, 1, 1);
            string? S(string key) => map.TryGetValue(key, out var n) ? ((YamlScalarNode)n).Value : null;
            Located<T> L<T>(string key, Func<string, T> parse, T def) => S(key) is { } s ? new Located<T>(parse(s), Loc(key), true) : new Located<T>(def, Loc(key), false);
            BitwidthMode Mode(string s) => s switch { "int8" => BitwidthMode.Int8, "int16" => BitwidthMode.Int16, "int4" => BitwidthMode.Int4, "mixbw" => BitwidthMode.MixBw, "mix light" => BitwidthMode.MixLight, "mix balance" => BitwidthMode.MixBalance, _ => BitwidthMode.Auto };
            BitWidth Bits(string s) => s == "int16" ? BitWidth.Int16 : BitWidth.Int8;
            var calib = (YamlMappingNode)map["calibration"];
            var c = calib.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => kv.Value);
            List<float> Floats(string k, float d) => c.TryGetValue(k, out var n) ? ((YamlSequenceNode)n).Children.Select(x => float.Parse(((YamlScalarNode)x).Value!, System.Globalization.CultureInfo.InvariantCulture)).ToList() : new List<float> { d };
            var inputs = new Dictionary<string, InputConfig>();
            if (map.TryGetValue("inputs", out var inputsNode))
                foreach (var kv in ((YamlMappingNode)inputsNode).Children)
                {
                    var name = ((YamlScalarNode)kv.Key).Value!;
                    var shape = ((YamlSequenceNode)((YamlMappingNode)kv.Value).Children[new YamlScalarNode("shape")]).Children.Select(x => long.Parse(((YamlScalarNode)x).Value!)).ToList();
                    inputs[name] = new InputConfig { Name = name, Shape = new Located<IReadOnlyList<long>?>(shape, new SourceLocation(full, 1, 1), true) };
                }
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            return new QuantConfig
            {
                FilePath = full,
                Platform = L("platform", s => (Platform)int.Parse(s.Replace("KL", "")), Platform.KL720),
                DatapathBitwidthMode = L("datapath_bitwidth_mode", Mode, BitwidthMode.Int8),
                WeightBitwidthMode = L("weight_bitwidth_mode", Mode, BitwidthMode.Int8),
                ModelInBitwidthMode = L("model_in_bitwidth_mode", Bits, BitWidth.Int8),
                ModelOutBitwidthMode = L("model_out_bitwidth_mode", Bits, BitWidth.Int8),
                CpuNodeBitwidthMode = L("cpu_node_bitwidth_mode", Bits, BitWidth.Int8),
                ConstInBitwidthMode = L("const_in_bitwidth_mode", Bits, BitWidth.Int16),
                DatapathRangeMethod = L("datapath_range_method", s => s == "minmax" ? RangeMethod.Minmax : RangeMethod.Percentage, RangeMethod.Percentage),
                Percentage = L("percentage", s => double.Parse(s, inv), 0.999),
                Percentage16b = L("percentage_16b", s => double.Parse(s, inv), 0.999999),
                SnrThresholdDb = L("snr_threshold", s => double.Parse(s, inv), 20.0),
                Calibration = new SampleSourceConfig
                {
                    Images = new Located<IReadOnlyList<string>>(new[] { ((YamlScalarNode)c["images"]).Value! }, default, true),
                    MaxSamples = new Located<int?>(c.TryGetValue("max_samples", out var ms) ? int.Parse(((YamlScalarNode)ms).Value!) : null, default, true),
                    Mean = new Located<IReadOnlyList<float>>(Floats("mean", 0), default, true),
                    Std = new Located<IReadOnlyList<float>>(Floats("std", 1), default, true),
                },
                Inputs = inputs,
            };
        }
    }
}

namespace Kneron.Quantization.Calibration
{
    using Kneron.Quantization.Config;

    public sealed class SampleSet
    {
        public required IReadOnlyList<string> MatchedFiles { get; init; }
        public required IReadOnlyList<string> UsedFiles { get; init; }
        public IReadOnlyList<string> WatchedFolders { get; init; } = Array.Empty<string>();
        public int Count => UsedFiles.Count;
        public required Func<IEnumerable<Sample>> Enumerator { get; init; }
        public IEnumerable<Sample> Enumerate() => Enumerator();
    }

    public static class SampleSetLoader
    {
        public static SampleSet Load(QuantConfig config, SampleSourceConfig section, IReadOnlyList<ModelInput> inputs)
        {
            var pattern = section.Images.Value[0];
            var dir = Path.GetFullPath(Path.Combine(config.BaseDirectory, Path.GetDirectoryName(pattern) ?? ""));
            var files = Directory.GetFiles(dir, Path.GetFileName(pattern)).OrderBy(f => f, StringComparer.Ordinal).ToList();
            var used = files.Take(section.MaxSamples.Value ?? int.MaxValue).ToList();
            var input = inputs[0];
            var shape = input.Shape;
            bool nchw = shape[1] is 1 or 3 or 4;
            int c = (int)(nchw ? shape[1] : shape[3]), h = (int)(nchw ? shape[2] : shape[1]), w = (int)(nchw ? shape[3] : shape[2]);
            return new SampleSet
            {
                MatchedFiles = files,
                UsedFiles = used,
                WatchedFolders = new[] { dir },
                Enumerator = () => used.Select(f =>
                {
                    using var bmp = SKBitmap.Decode(f).Resize(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKFilterMode.Linear));
                    var data = new float[c * h * w];
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++)
                        {
                            var p = bmp.GetPixel(x, y);
                            byte[] ch = { p.Red, p.Green, p.Blue, p.Alpha };
                            for (int k = 0; k < c; k++)
                            {
                                var mean = section.Mean.Value[Math.Min(k, section.Mean.Value.Count - 1)];
                                var std = section.Std.Value[Math.Min(k, section.Std.Value.Count - 1)];
                                var v = (ch[k] - mean) / std;
                                data[nchw ? (k * h + y) * w + x : (y * w + x) * c + k] = v;
                            }
                        }
                    return new Sample(new Dictionary<string, float[]> { [input.Name] = data }, new[] { f });
                }),
            };
        }
    }
}
