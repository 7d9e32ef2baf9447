using Google.Protobuf;
using Kneron.Quantization.Model;
using Onnx;

namespace Kneron.Quantization.Tests;

/// <summary>Builds small ONNX models in code for tests: float inputs, initializers and nodes at opset 13.</summary>
public sealed class OnnxBuilder
{
    private readonly ModelProto _model = new() { IrVersion = 8, ProducerName = "kneron-build-tests", Graph = new GraphProto { Name = "test" } };

    public OnnxBuilder()
    {
        _model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
    }

    public GraphProto Graph => _model.Graph;

    public OnnxBuilder Input(string name, params long[] shape)
    {
        _model.Graph.Input.Add(ValueInfo(name, TensorData.FloatType, shape));
        return this;
    }

    public OnnxBuilder Output(string name, int elementType = TensorData.FloatType)
    {
        _model.Graph.Output.Add(ValueInfo(name, elementType, null));
        return this;
    }

    public OnnxBuilder Initializer(string name, long[] dims, float[] values)
    {
        _model.Graph.Initializer.Add(TensorData.CreateFloat(name, dims, values));
        return this;
    }

    public OnnxBuilder Int64Initializer(string name, params long[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        _model.Graph.Initializer.Add(tensor);
        return this;
    }

    public OnnxBuilder Node(string opType, string[] inputs, string[] outputs, string? name = null, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name ?? outputs[0] + "_" + opType };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        _model.Graph.Node.Add(node);
        return this;
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public ModelProto Build() => _model.Clone();

    public string Save(string path)
    {
        File.WriteAllBytes(path, _model.ToByteArray());
        return path;
    }

    private static ValueInfoProto ValueInfo(string name, int elementType, long[]? shape)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = elementType };
        if (shape is not null)
        {
            tensorType.Shape = new TensorShapeProto();
            foreach (var dim in shape)
            {
                tensorType.Shape.Dim.Add(dim > 0
                    ? new TensorShapeProto.Types.Dimension { DimValue = dim }
                    : new TensorShapeProto.Types.Dimension { DimParam = "N" });
            }
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } };
    }
}
