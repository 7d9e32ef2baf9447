using System.Globalization;
using Google.Protobuf;
using Kneron.Quantization.Diagnostics;
using Onnx;

namespace Kneron.Quantization.Model;

/// <summary>
/// Tensors whose bytes an ONNX model keeps in files beside it (the ONNX
/// external-data format): the tensor's <c>data_location</c> is EXTERNAL and its
/// <c>external_data</c> entries give <c>location</c> (a path relative to the
/// model's folder), <c>offset</c> and <c>length</c> in bytes, and optionally
/// <c>checksum</c>. The analysis reads them into the in-memory model, so every
/// ONNX Runtime session is created from bytes as for an inline model, and
/// writes the quantized model's large tensors back to one file beside it.
/// </summary>
/// <remarks>
/// NOTE: the in-memory model is one protobuf message, which cannot exceed
/// 2 GB, so a model whose tensors total more than that is rejected by
/// protobuf when a session is created (KNQ0099). The <c>checksum</c> entry is
/// not verified: ONNX defines it only as "SHA1 digest of file", and ONNX's own
/// loader (onnx 1.17, <c>load_external_data_for_tensor</c>) ignores it too.
/// </remarks>
public static class ExternalData
{
    /// <summary>Tensors of fewer bytes stay inline in the written model; the default <c>size_threshold</c> of ONNX's <c>convert_model_to_external_data</c>.</summary>
    public const int SizeThresholdBytes = 1024;

    /// <summary>
    /// Reads the bytes of every external tensor of <paramref name="model"/> into
    /// its <c>raw_data</c> and marks it as stored inline. Returns the full paths
    /// of the data files read, in the order first referenced. The files are only read.
    /// Throws a coded <see cref="KnqException"/> at the model for a reference
    /// that is unsafe (an absolute path, or one that leaves the model's folder by
    /// name or through a symbolic link),
    /// a missing or unreadable file, or a byte range that does not fit the file or the tensor.
    /// </summary>
    public static IReadOnlyList<string> Inline(ModelProto model, string modelPath)
    {
        var folder = Path.GetDirectoryName(modelPath)!;
        var files = new List<string>();
        foreach (var tensor in Tensors(model).Where(IsExternal))
        {
            var reference = Resolve(tensor, folder, modelPath);
            if (!files.Contains(reference.File))
            {
                files.Add(reference.File);
            }

            tensor.RawData = ByteString.CopyFrom(ReadRange(tensor, reference, modelPath));
            tensor.ExternalData.Clear();
            tensor.DataLocation = TensorProto.Types.DataLocation.Default;
        }

        return files;
    }

    /// <summary>
    /// Returns the full paths of the data files the model at <paramref name="modelPath"/>
    /// references, for the build's dependency list and the results-cache key.
    /// A model that cannot be read, or an invalid reference, is left out without
    /// an error: the analysis reports it when it loads the model.
    /// </summary>
    public static IReadOnlyList<string> ListFiles(string modelPath)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidProtocolBufferException)
        {
            return Array.Empty<string>();
        }

        var folder = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        return Tensors(model)
            .Where(IsExternal)
            .Select(t => Entry(t, "location"))
            .OfType<string>()
            .Distinct(StringComparer.Ordinal)
            .Select(location => ResolveLocation(location, folder))
            .OfType<string>()
            .Where(File.Exists)
            .ToList();
    }

    /// <summary>
    /// Moves the <c>raw_data</c> of every initializer (of the main graph and its subgraphs) of at least
    /// <see cref="SizeThresholdBytes"/> bytes out of <paramref name="model"/>
    /// into <paramref name="data"/>, and points each tensor at it under
    /// <paramref name="location"/> (a file name relative to the written model).
    /// Smaller tensors, tensors held in typed fields instead of
    /// <c>raw_data</c>, and <c>Constant</c> values stay inline, as ONNX's
    /// <c>convert_model_to_external_data</c> leaves attributes by default. Each tensor starts at a multiple of 64
    /// bytes, so ONNX Runtime can map aligned data in place.
    /// </summary>
    public static void MoveOut(ModelProto model, string location, Stream data)
    {
        const int alignment = 64;
        long offset = 0;
        var initializers = model.Graph is null ? Enumerable.Empty<TensorProto>() : Initializers(model.Graph);
        foreach (var tensor in initializers.Where(t => !IsExternal(t) && t.RawData.Length >= SizeThresholdBytes))
        {
            var padding = (int)((alignment - offset % alignment) % alignment);
            data.Write(new byte[padding]);
            offset += padding;

            tensor.RawData.WriteTo(data);
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = tensor.RawData.Length.ToString(CultureInfo.InvariantCulture) });
            offset += tensor.RawData.Length;
            tensor.RawData = ByteString.Empty;
            tensor.DataLocation = TensorProto.Types.DataLocation.External;
        }
    }

    private static bool IsExternal(TensorProto tensor) => tensor.DataLocation == TensorProto.Types.DataLocation.External;

    /// <summary>A resolved reference: the data file's full path and the byte range (offset, and length when given).</summary>
    private sealed record Reference(string Location, string File, long Offset, long? Length);

    private static Reference Resolve(TensorProto tensor, string folder, string modelPath)
    {
        var location = Entry(tensor, "location");
        if (string.IsNullOrEmpty(location))
        {
            throw Invalid(modelPath, $"Initializer '{tensor.Name}' is marked as external data but has no 'location' entry. Export the model again, or save it with its tensors inside the .onnx file.");
        }

        var file = ResolveLocation(location, folder);
        if (file is null)
        {
            throw Invalid(modelPath,
                $"Initializer '{tensor.Name}' refers to external data at '{location}', which is not a relative path inside the model's folder '{folder}'. "
                + "The analysis reads external data only from that folder or below it; move the data file there and save the model with a relative location.");
        }

        long offset = ParseCount(tensor, "offset", location, modelPath) ?? 0;
        long? length = ParseCount(tensor, "length", location, modelPath);

        if (!System.IO.File.Exists(file))
        {
            throw new KnqException(ModelCodes.ExternalDataFileMissing, new SourceLocation(modelPath),
                $"Initializer '{tensor.Name}' is stored in the external data file '{location}', which was not found at '{file}'. "
                + "Copy the data file next to the model, as it was when the model was saved.");
        }

        RejectLinkOutOfFolder(tensor, location, file, folder, modelPath);
        return new Reference(location, file, offset, length);
    }

    /// <summary>
    /// Rejects a data file that is a symbolic link, or is reached through a linked folder,
    /// whose target lies outside both the model's folder and the folder of the model's own
    /// target. The second folder admits the layout of the Hugging Face hub cache, where the
    /// model and its data are links from a snapshot folder to files in one blob folder.
    /// </summary>
    private static void RejectLinkOutOfFolder(TensorProto tensor, string location, string file, string folder, string modelPath)
    {
        string target;
        bool inside;
        try
        {
            target = RealPath(file);
            inside = IsInside(target, RealPath(folder)) || IsInside(target, Path.GetDirectoryName(RealPath(modelPath))!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KnqException(ModelCodes.ExternalDataFileMissing, new SourceLocation(modelPath),
                $"The symbolic links to the external data file '{location}' of initializer '{tensor.Name}' could not be resolved: {ex.Message} "
                + "Replace the links with the data file itself.", ex);
        }

        if (!inside)
        {
            throw Invalid(modelPath,
                $"Initializer '{tensor.Name}' refers to external data at '{location}', which is a symbolic link, or passes through one, to '{target}', "
                + $"outside the model's folder '{folder}'. The analysis reads external data only from that folder or below it; copy the data file there instead of linking it.");
        }
    }

    /// <summary>Returns the path with every symbolic link in it resolved, as realpath(3) does. A part that does not exist is kept as written.</summary>
    private static string RealPath(string fullPath, int depth = 0)
    {
        // Linux's limit on links followed in one path lookup (MAXSYMLINKS) is 40.
        const int maxLinks = 40;
        if (depth > maxLinks)
        {
            throw new IOException($"More than {maxLinks} symbolic links in '{fullPath}'.");
        }

        var root = Path.GetPathRoot(fullPath)!;
        var current = root;
        foreach (var part in fullPath[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            var linkTarget = new FileInfo(next).LinkTarget;
            current = linkTarget is null ? next : RealPath(Path.GetFullPath(linkTarget, current), depth + 1);
        }

        return current;
    }

    private static bool IsInside(string path, string folder) =>
        path.StartsWith(Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>Returns the full path of a location inside <paramref name="folder"/>, or null when it is absolute or leaves the folder.</summary>
    private static string? ResolveLocation(string location, string folder)
    {
        if (Path.IsPathRooted(location) || location.Contains('\0'))
        {
            return null;
        }

        // Symbolic links are checked by RejectLinkOutOfFolder once the file is known to exist.
        var full = Path.GetFullPath(Path.Combine(folder, location));
        return IsInside(full, folder) ? full : null;
    }

    private static byte[] ReadRange(TensorProto tensor, Reference reference, string modelPath)
    {
        try
        {
            using var stream = new FileStream(reference.File, FileMode.Open, FileAccess.Read, FileShare.Read);
            long fileLength = stream.Length;
            long length = reference.Length ?? fileLength - reference.Offset;
            if (reference.Offset > fileLength || reference.Offset + length > fileLength)
            {
                throw OutOfRange(modelPath,
                    $"Initializer '{tensor.Name}' reads bytes {reference.Offset} to {reference.Offset + length} of the external data file '{reference.Location}', "
                    + $"but the file has only {fileLength} bytes. The file is truncated or belongs to another export; copy it again from where the model was saved.");
            }

            if (ExpectedBytes(tensor) is { } expected && expected != length)
            {
                throw OutOfRange(modelPath,
                    $"Initializer '{tensor.Name}' takes {length} bytes of the external data file '{reference.Location}', "
                    + $"but its shape [{string.Join(", ", tensor.Dims)}] of ONNX data type {tensor.DataType} needs {expected} bytes. "
                    + "The data file does not match the model; copy both again from where the model was saved.");
            }

            if (length > int.MaxValue)
            {
                throw OutOfRange(modelPath,
                    $"Initializer '{tensor.Name}' has {length} bytes of external data, more than the 2 GB one in-memory tensor can hold in this version. "
                    + "Quantize a smaller model, or split the tensor.");
            }

            var bytes = new byte[length];
            stream.Position = reference.Offset;
            stream.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KnqException(ModelCodes.ExternalDataFileMissing, new SourceLocation(modelPath),
                $"The external data file '{reference.File}' of initializer '{tensor.Name}' could not be read: {ex.Message} Check the file's permissions.", ex);
        }
    }

    /// <summary>Returns the bytes a tensor of this type and shape takes in raw form, or null for a type without a fixed size (string).</summary>
    private static long? ExpectedBytes(TensorProto tensor)
    {
        long count = TensorData.ElementCount(tensor);
        return tensor.DataType switch
        {
            // The numbers are ONNX's TensorProto.DataType values.
            1 or 6 or 12 => count * 4, // float, int32, uint32
            2 or 3 or 9 or 17 or 18 or 19 or 20 => count, // uint8, int8, bool, the four float8 types
            4 or 5 or 10 or 16 => count * 2, // uint16, int16, float16, bfloat16
            7 or 11 or 13 or 14 => count * 8, // int64, double, uint64, complex64
            15 => count * 16, // complex128
            21 or 22 or 23 => (count + 1) / 2, // uint4, int4, float4e2m1: two values to a byte
            _ => null,
        };
    }

    private static long? ParseCount(TensorProto tensor, string key, string location, string modelPath)
    {
        var text = Entry(tensor, key);
        if (text is null)
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw Invalid(modelPath,
                $"Initializer '{tensor.Name}' has external data '{key}' '{text}' for '{location}', which is not a whole number of bytes. Export the model again.");
        }

        return value;
    }

    private static string? Entry(TensorProto tensor, string key) =>
        tensor.ExternalData.LastOrDefault(e => e.Key == key)?.Value;

    private static KnqException Invalid(string modelPath, string message) =>
        new(ModelCodes.ExternalDataLocationInvalid, new SourceLocation(modelPath), message);

    private static KnqException OutOfRange(string modelPath, string message) =>
        new(ModelCodes.ExternalDataOutOfRange, new SourceLocation(modelPath), message);

    /// <summary>Every tensor of the model: initializers and attribute tensors of the main graph, its subgraphs and the model's functions.</summary>
    private static IEnumerable<TensorProto> Tensors(ModelProto model)
    {
        var graphs = model.Graph is null ? Enumerable.Empty<TensorProto>() : Tensors(model.Graph);
        var functions = model.Functions.SelectMany(f => f.Node).SelectMany(AttributeTensors);
        return graphs.Concat(functions);
    }

    private static IEnumerable<TensorProto> Tensors(GraphProto graph) =>
        graph.Initializer
            .Concat(graph.SparseInitializer.SelectMany(s => new[] { s.Values, s.Indices }).OfType<TensorProto>())
            .Concat(graph.Node.SelectMany(AttributeTensors));

    private static IEnumerable<TensorProto> Initializers(GraphProto graph) =>
        graph.Initializer.Concat(graph.Node
            .SelectMany(n => n.Attribute)
            .SelectMany(a => a.G is null ? a.Graphs : a.Graphs.Prepend(a.G))
            .SelectMany(Initializers));

    private static IEnumerable<TensorProto> AttributeTensors(NodeProto node)
    {
        foreach (var attribute in node.Attribute)
        {
            if (attribute.T is not null)
            {
                yield return attribute.T;
            }

            foreach (var tensor in attribute.Tensors)
            {
                yield return tensor;
            }

            var subgraphs = attribute.G is null ? attribute.Graphs : attribute.Graphs.Prepend(attribute.G);
            foreach (var tensor in subgraphs.SelectMany(Tensors))
            {
                yield return tensor;
            }
        }
    }
}
