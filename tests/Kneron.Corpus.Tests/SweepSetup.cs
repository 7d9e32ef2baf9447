using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using Onnx;

namespace Kneron.Corpus.Tests;

/// <summary>
/// Writes the config and the calibration <c>.npy</c> files for one corpus
/// model into a folder, so that <c>kneron-quant analyze</c> can run on it.
/// </summary>
/// <remarks>
/// Every float input gets two samples of standard normal values (seeded by the
/// model's name, so a rerun feeds the same data). A non-float input gets the
/// values of the model's own <c>test_data_set_0/input_N.pb</c> when that file
/// fits, because random indices or counts would only make ONNX Runtime reject
/// the run; otherwise zeros. The engine reads <c>.npy</c> files as float32
/// only, so integer values are written as float32 too. A dynamic dimension
/// takes its size from that test data file, or 1 without one, and is written
/// to <c>inputs.&lt;name&gt;.shape</c>.
/// </remarks>
public static class SweepSetup
{
    public const string ConfigFileName = "sweep.quant.yaml";

    public static string Write(string modelPath, string folder)
    {
        Directory.CreateDirectory(folder);
        var config = new StringBuilder();
        config.AppendLine("platform: 720");

        ModelProto? model = null;
        try
        {
            model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
        }
        catch (InvalidProtocolBufferException)
        {
            // The analysis itself must report an unreadable model; the config stays minimal.
        }

        var inputs = model?.Graph is null ? new List<ValueInfoProto>() : RealInputs(model.Graph);
        var testData = ReadTestData(Path.GetDirectoryName(modelPath)!, inputs.Count);
        var random = new Random(StableSeed(Path.GetFileName(Path.GetDirectoryName(modelPath)!)));

        // The calibration section is required even when every input has its own source,
        // so it points at a file that exists whatever the model's inputs are.
        var placeholder = Path.Combine(folder, "placeholder.npy");
        File.WriteAllBytes(placeholder, Npy(new long[] { 1 }, new float[] { 0 }));
        var floatInputs = inputs.Where(i => i.Type?.TensorType?.ElemType == (int)TensorProto.Types.DataType.Float).ToList();
        var entries = new StringBuilder();
        string calibrationFiles = Quote(placeholder);

        for (int index = 0; index < inputs.Count; index++)
        {
            var input = inputs[index];
            var tensorType = input.Type?.TensorType;
            if (tensorType is null)
            {
                // A sequence, map or optional input: nothing can feed it; the analysis must say so.
                continue;
            }

            var data = testData.GetValueOrDefault(input.Name) ?? (index < testData.Count ? testData.Values.ElementAt(index) : null);
            var (shape, dynamic) = FixShape(tensorType.Shape, data);
            bool isFloat = tensorType.ElemType == (int)TensorProto.Types.DataType.Float;
            long count = shape.Aggregate(1L, (a, b) => a * b);
            if (count > 4_000_000)
            {
                // Keeps the sweep's disk use small; the analysis then rejects the missing files.
                continue;
            }

            var files = new List<string>();
            for (int sample = 0; sample < 2; sample++)
            {
                var values = isFloat ? Normal(random, count) : IntegerValues(data, count);
                var file = Path.Combine(folder, $"input{index}_{sample}.npy");
                File.WriteAllBytes(file, Npy(shape, values));
                files.Add(Quote(file));
            }

            var list = "[" + string.Join(", ", files) + "]";
            bool topLevel = isFloat && floatInputs.Count == 1 || inputs.Count == 1;
            if (topLevel)
            {
                calibrationFiles = string.Join(", ", files);
            }

            var settings = new List<string>();
            if (dynamic && shape.Length > 0)
            {
                settings.Add($"shape: [{string.Join(", ", shape)}]");
            }

            if (!topLevel)
            {
                settings.Add($"tensors: {list}");
            }

            if (settings.Count > 0)
            {
                entries.AppendLine($"  {Quote(input.Name)}: {{ {string.Join(", ", settings)} }}");
            }
        }

        config.AppendLine($"calibration: {{ tensors: [{calibrationFiles}] }}");
        if (entries.Length > 0)
        {
            config.AppendLine("inputs:");
            config.Append(entries);
        }

        var configPath = Path.Combine(folder, ConfigFileName);
        File.WriteAllText(configPath, config.ToString());
        return configPath;
    }

    /// <summary>Graph inputs that are not initializers (IR 3 models list their weights as inputs too).</summary>
    private static List<ValueInfoProto> RealInputs(GraphProto graph)
    {
        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet();
        return graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
    }

    /// <summary>The tensors of <c>test_data_set_0/input_N.pb</c>, keyed by their name or, unnamed, by their index.</summary>
    private static Dictionary<string, TensorProto> ReadTestData(string modelFolder, int inputCount)
    {
        var result = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        for (int i = 0; i < inputCount; i++)
        {
            var file = Path.Combine(modelFolder, "test_data_set_0", $"input_{i}.pb");
            if (!File.Exists(file))
            {
                break;
            }

            try
            {
                var tensor = TensorProto.Parser.ParseFrom(File.ReadAllBytes(file));
                result[tensor.Name.Length > 0 ? tensor.Name : $"#{i}"] = tensor;
            }
            catch (InvalidProtocolBufferException)
            {
                // A sequence or optional value, stored as another message; the input gets no data.
                break;
            }
        }

        return result;
    }

    /// <summary>The model's static shape, its dynamic dimensions filled from the test data or with 1.</summary>
    private static (long[] Shape, bool Dynamic) FixShape(TensorShapeProto? shape, TensorProto? data)
    {
        if (shape is null)
        {
            return data is null ? (new long[] { 1 }, true) : (data.Dims.Select(d => Math.Max(d, 1)).ToArray(), true);
        }

        bool dataFits = data is not null && data.Dims.Count == shape.Dim.Count;
        bool dynamic = false;
        var result = new long[shape.Dim.Count];
        for (int i = 0; i < result.Length; i++)
        {
            if (shape.Dim[i].DimValue > 0)
            {
                result[i] = shape.Dim[i].DimValue;
                continue;
            }

            dynamic = true;
            result[i] = dataFits ? Math.Max(data!.Dims[i], 1) : 1;
        }

        return (result, dynamic);
    }

    private static float[] Normal(Random random, long count)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++)
        {
            // Box–Muller: two uniforms give one standard normal value.
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            values[i] = (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
        }

        return values;
    }

    private static float[] IntegerValues(TensorProto? data, long count)
    {
        var values = data is null ? null : TestDataValues(data);
        return values is not null && values.Length == count ? values : new float[count];
    }

    /// <summary>A test data tensor's values as float32, or null for a type the sweep does not convert.</summary>
    private static float[]? TestDataValues(TensorProto tensor)
    {
        var raw = tensor.RawData.Span;
        switch ((TensorProto.Types.DataType)tensor.DataType)
        {
            case TensorProto.Types.DataType.Int64:
                return raw.IsEmpty
                    ? tensor.Int64Data.Select(v => (float)v).ToArray()
                    : Enumerable.Range(0, raw.Length / 8).Select(i => (float)BinaryPrimitives.ReadInt64LittleEndian(tensor.RawData.Span[(i * 8)..])).ToArray();
            case TensorProto.Types.DataType.Int32:
                return raw.IsEmpty
                    ? tensor.Int32Data.Select(v => (float)v).ToArray()
                    : Enumerable.Range(0, raw.Length / 4).Select(i => (float)BinaryPrimitives.ReadInt32LittleEndian(tensor.RawData.Span[(i * 4)..])).ToArray();
            case TensorProto.Types.DataType.Int8:
                return raw.IsEmpty ? tensor.Int32Data.Select(v => (float)v).ToArray() : raw.ToArray().Select(b => (float)(sbyte)b).ToArray();
            case TensorProto.Types.DataType.Uint8:
            case TensorProto.Types.DataType.Bool:
                return raw.IsEmpty ? tensor.Int32Data.Select(v => (float)v).ToArray() : raw.ToArray().Select(b => (float)b).ToArray();
            case TensorProto.Types.DataType.Double:
                return raw.IsEmpty
                    ? tensor.DoubleData.Select(v => (float)v).ToArray()
                    : Enumerable.Range(0, raw.Length / 8).Select(i => (float)BinaryPrimitives.ReadDoubleLittleEndian(tensor.RawData.Span[(i * 8)..])).ToArray();
            default:
                return null;
        }
    }

    /// <summary>The bytes of a little-endian float32 <c>.npy</c> file (format 1.0) in C order.</summary>
    public static byte[] Npy(IReadOnlyList<long> shape, float[] values)
    {
        var shapeText = shape.Count == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        var dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shapeText}, }}";
        // The header, newline included, pads the data start to a multiple of 64 bytes.
        int padding = (64 - (10 + dict.Length + 1) % 64) % 64;
        var header = Encoding.ASCII.GetBytes(dict + new string(' ', padding) + "\n");

        var bytes = new byte[10 + header.Length + values.Length * 4];
        new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' }.CopyTo(bytes, 0);
        bytes[6] = 1;
        bytes[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)header.Length);
        header.CopyTo(bytes, 10);
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(10 + header.Length + i * 4), values[i]);
        }

        return bytes;
    }

    /// <summary>A YAML double-quoted scalar: input names such as "0" or "x:0" must stay strings.</summary>
    private static string Quote(string text) =>
        "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    /// <summary>A seed that is the same on every run and machine, unlike <see cref="string.GetHashCode()"/>.</summary>
    private static int StableSeed(string text)
    {
        unchecked
        {
            int hash = (int)2166136261;
            foreach (char c in text)
            {
                hash = (hash ^ c) * 16777619;
            }

            return hash;
        }
    }
}
