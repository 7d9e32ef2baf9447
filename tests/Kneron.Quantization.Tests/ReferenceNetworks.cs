using Onnx;

namespace Kneron.Quantization.Tests;

/// <summary>
/// Builds the published architectures of MobileNet v1 and v2 (224×224), ResNet50
/// v1.5 (224×224) and Tiny YOLOv3 (416×416) as ONNX graphs with random
/// weights, for checking the FPS estimate: its cost depends on shapes only.
/// BatchNormalization is left out because the NPU folds it into the Conv.
/// </summary>
public sealed class ReferenceNetworks
{
    private readonly OnnxBuilder _builder = new();
    private readonly Random _random = new(20240601);
    private int _count;

    private ReferenceNetworks(string input, params long[] shape)
    {
        _builder.Input(input, shape);
    }

    /// <summary>MobileNet v2 1.0: inverted residual blocks (expansion, channels, repeats, stride) with ReLU6.</summary>
    public static ModelProto MobileNetV2()
    {
        var net = new ReferenceNetworks("image", 1, 3, 224, 224);
        net.Constant("zero", 0f).Constant("six", 6f);
        var x = net.Conv("image", 3, 32, 3, 2, activation: "relu6");
        int channels = 32;
        var blocks = new (int Expansion, int Channels, int Repeats, int Stride)[]
        {
            (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
        };
        foreach (var (expansion, outChannels, repeats, firstStride) in blocks)
        {
            for (int i = 0; i < repeats; i++)
            {
                int stride = i == 0 ? firstStride : 1;
                int hidden = channels * expansion;
                var y = expansion == 1 ? x : net.Conv(x, channels, hidden, 1, 1, activation: "relu6");
                y = net.Conv(y, hidden, hidden, 3, stride, group: hidden, activation: "relu6");
                y = net.Conv(y, hidden, outChannels, 1, 1, activation: null);
                x = stride == 1 && channels == outChannels ? net.Add(x, y) : y;
                channels = outChannels;
            }
        }

        x = net.Conv(x, channels, 1280, 1, 1, activation: "relu6");
        return net.Classifier(x, 1280);
    }

    /// <summary>MobileNet v1 1.0: 13 depthwise-separable blocks with ReLU6.</summary>
    public static ModelProto MobileNetV1()
    {
        var net = new ReferenceNetworks("image", 1, 3, 224, 224);
        net.Constant("zero", 0f).Constant("six", 6f);
        var x = net.Conv("image", 3, 32, 3, 2, activation: "relu6");
        int channels = 32;
        var blocks = new (int Channels, int Stride)[]
        {
            (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
        };
        foreach (var (outChannels, stride) in blocks)
        {
            x = net.Conv(x, channels, channels, 3, stride, group: channels, activation: "relu6");
            x = net.Conv(x, channels, outChannels, 1, 1, activation: "relu6");
            channels = outChannels;
        }

        return net.Classifier(x, channels);
    }

    /// <summary>ResNet50 v1.5: bottleneck stages of 3, 4, 6 and 3 blocks, with the stride on the 3×3 Conv (the v1.5 change).</summary>
    public static ModelProto ResNet50()
    {
        var net = new ReferenceNetworks("image", 1, 3, 224, 224);
        var x = net.Conv("image", 3, 64, 7, 2, activation: "relu");
        x = net.MaxPool(x, 3, 2, padEnd: 1, padBegin: 1);
        int channels = 64;
        var stages = new (int Width, int Blocks, int Stride)[] { (64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2) };
        foreach (var (width, count, firstStride) in stages)
        {
            for (int i = 0; i < count; i++)
            {
                int stride = i == 0 ? firstStride : 1;
                var y = net.Conv(x, channels, width, 1, 1, activation: "relu");
                y = net.Conv(y, width, width, 3, stride, activation: "relu");
                y = net.Conv(y, width, width * 4, 1, 1, activation: null);
                var shortcut = i == 0 ? net.Conv(x, channels, width * 4, 1, stride, activation: null) : x;
                x = net.Relu(net.Add(shortcut, y));
                channels = width * 4;
            }
        }

        return net.Classifier(x, channels);
    }

    /// <summary>Tiny YOLOv3 at 416×416 with 80 classes: two detection heads at 13×13 and 26×26.</summary>
    public static ModelProto TinyYoloV3()
    {
        var net = new ReferenceNetworks("image", 1, 3, 416, 416);
        string x = "image";
        int channels = 3;
        string route = "";
        foreach (var width in new[] { 16, 32, 64, 128, 256 })
        {
            x = net.Conv(x, channels, width, 3, 1, activation: "leaky");
            channels = width;
            if (width == 256)
            {
                route = x;
            }

            x = net.MaxPool(x, 2, 2, padEnd: 0, padBegin: 0);
        }

        x = net.Conv(x, 256, 512, 3, 1, activation: "leaky");
        x = net.MaxPool(x, 2, 1, padEnd: 1, padBegin: 0);
        x = net.Conv(x, 512, 1024, 3, 1, activation: "leaky");
        var neck = net.Conv(x, 1024, 256, 1, 1, activation: "leaky");
        var head = net.Conv(neck, 256, 512, 3, 1, activation: "leaky");
        net.Output(net.Conv(head, 512, 255, 1, 1, activation: null));

        var lateral = net.Conv(neck, 256, 128, 1, 1, activation: "leaky");
        net.Constant("upsample_scales", 1f, 1f, 2f, 2f);
        var upsampled = net.Next("upsample");
        net._builder.Node("Resize", new[] { lateral, "", "upsample_scales" }, new[] { upsampled }, upsampled,
            new AttributeProto { Name = "mode", Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8("nearest") });
        var joined = net.Next("concat");
        net._builder.Node("Concat", new[] { upsampled, route }, new[] { joined }, joined, OnnxBuilder.Int("axis", 1));
        var second = net.Conv(joined, 384, 256, 3, 1, activation: "leaky");
        net.Output(net.Conv(second, 256, 255, 1, 1, activation: null));
        return net._builder.Build();
    }

    private string Next(string kind) => $"{kind}_{++_count}";

    private ReferenceNetworks Constant(string name, params float[] values)
    {
        _builder.Initializer(name, values.Length == 1 ? Array.Empty<long>() : new long[] { values.Length }, values);
        return this;
    }

    private void Output(string tensor) => _builder.Output(tensor);

    /// <summary>Adds a Conv with bias and "same" padding, then the activation (relu, relu6, leaky or none).</summary>
    private string Conv(string input, int inChannels, int outChannels, int kernel, int stride, string? activation, int group = 1)
    {
        var name = Next("conv");
        var weights = new float[outChannels * (inChannels / group) * kernel * kernel];
        float bound = MathF.Sqrt(6f / (inChannels / group * kernel * kernel));
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = ((float)_random.NextDouble() * 2 - 1) * bound;
        }

        _builder.Initializer(name + "_w", new long[] { outChannels, inChannels / group, kernel, kernel }, weights);
        _builder.Initializer(name + "_b", new long[] { outChannels }, new float[outChannels]);
        int pad = kernel / 2;
        _builder.Node("Conv", new[] { input, name + "_w", name + "_b" }, new[] { name }, name,
            OnnxBuilder.Ints("kernel_shape", kernel, kernel), OnnxBuilder.Ints("strides", stride, stride),
            OnnxBuilder.Ints("pads", pad, pad, pad, pad), OnnxBuilder.Int("group", group));

        switch (activation)
        {
            case "relu":
                return Relu(name);
            case "relu6":
                var clipped = Next("relu6");
                _builder.Node("Clip", new[] { name, "zero", "six" }, new[] { clipped }, clipped);
                return clipped;
            case "leaky":
                var leaky = Next("leaky");
                _builder.Node("LeakyRelu", new[] { name }, new[] { leaky }, leaky,
                    new AttributeProto { Name = "alpha", Type = AttributeProto.Types.AttributeType.Float, F = 0.1f });
                return leaky;
            default:
                return name;
        }
    }

    private string Relu(string input)
    {
        var name = Next("relu");
        _builder.Node("Relu", new[] { input }, new[] { name }, name);
        return name;
    }

    private string Add(string a, string b)
    {
        var name = Next("add");
        _builder.Node("Add", new[] { a, b }, new[] { name }, name);
        return name;
    }

    private string MaxPool(string input, int kernel, int stride, int padEnd, int padBegin)
    {
        var name = Next("maxpool");
        _builder.Node("MaxPool", new[] { input }, new[] { name }, name,
            OnnxBuilder.Ints("kernel_shape", kernel, kernel), OnnxBuilder.Ints("strides", stride, stride),
            OnnxBuilder.Ints("pads", padBegin, padBegin, padEnd, padEnd));
        return name;
    }

    /// <summary>Global average pooling, flatten and a 1000-class Gemm.</summary>
    private ModelProto Classifier(string input, int channels)
    {
        var pooled = Next("gap");
        _builder.Node("GlobalAveragePool", new[] { input }, new[] { pooled }, pooled);
        var flat = Next("flatten");
        _builder.Node("Flatten", new[] { pooled }, new[] { flat }, flat, OnnxBuilder.Int("axis", 1));
        var weights = new float[1000 * channels];
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = ((float)_random.NextDouble() * 2 - 1) * 0.05f;
        }

        _builder.Initializer("fc_w", new long[] { 1000, channels }, weights);
        _builder.Initializer("fc_b", new long[] { 1000 }, new float[1000]);
        _builder.Node("Gemm", new[] { flat, "fc_w", "fc_b" }, new[] { "logits" }, "fc", OnnxBuilder.Int("transB", 1));
        _builder.Output("logits");
        return _builder.Build();
    }
}
