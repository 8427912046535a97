using System.Text;

namespace MitTts.Tests.Speech.Onnx;

/// <summary>Writes a small ONNX model (onnx.proto's ModelProto) as protobuf bytes, so tests build the models they run.</summary>
/// <remarks>Only the fields the tests use: nodes with int/ints/float attributes, raw-data initializers, typed inputs and outputs.</remarks>
public sealed class OnnxGraph
{
    /// <summary>TensorProto.DataType FLOAT.</summary>
    public const int F32 = 1;

    /// <summary>TensorProto.DataType INT64.</summary>
    public const int I64 = 7;

    private readonly List<byte[]> _nodes = [];
    private readonly List<(byte[] Header, float[]? Floats, byte[]? Raw)> _initializers = [];
    private readonly List<byte[]> _inputs = [];
    private readonly List<byte[]> _outputs = [];
    private int _nodeCount;

    /// <summary>A graph input; a dimension is a number or a symbolic name ("B", "N").</summary>
    public OnnxGraph Input(string name, int elementType, params object[] dims)
    {
        _inputs.Add(ValueInfo(name, elementType, dims));
        return this;
    }

    public OnnxGraph Output(string name, int elementType, params object[] dims)
    {
        _outputs.Add(ValueInfo(name, elementType, dims));
        return this;
    }

    /// <remarks>The array is kept, not copied, until the model is written: a built model of realistic size holds tens of millions of weights.</remarks>
    public OnnxGraph Constant(string name, float[] values, params long[] dims)
    {
        _initializers.Add((TensorHeader(name, F32, dims), values, null));
        return this;
    }

    public OnnxGraph Constant(string name, long[] values, params long[] dims)
    {
        _initializers.Add((TensorHeader(name, I64, dims), null, MemoryMarshalBytes(values)));
        return this;
    }

    /// <summary>A node; attributes are (name, value) with a long, long[], float or string value.</summary>
    public OnnxGraph Node(string opType, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = new Proto();
        foreach (var input in inputs)
        {
            node.String(1, input);
        }

        foreach (var output in outputs)
        {
            node.String(2, output);
        }

        node.String(3, $"{opType}_{_nodeCount++}");
        node.String(4, opType);
        foreach (var (name, value) in attributes)
        {
            var attribute = new Proto().String(1, name);
            switch (value)
            {
                case float f:
                    attribute.Fixed32(2, BitConverter.SingleToUInt32Bits(f)).Varint(20, 1);
                    break;
                case long i:
                    attribute.Varint(3, (ulong)i).Varint(20, 2);
                    break;
                case string text:
                    attribute.String(4, text).Varint(20, 3);
                    break;
                case long[] ints:
                    foreach (var i in ints)
                    {
                        attribute.Varint(8, (ulong)i);
                    }

                    attribute.Varint(20, 7);
                    break;
                default:
                    throw new ArgumentException($"Attribute {name}: {value.GetType()} is not supported.", nameof(attributes));
            }

            node.Message(5, attribute);
        }

        _nodes.Add(node.ToArray());
        return this;
    }

    public byte[] ToModel(long opset = 17)
    {
        using var model = new MemoryStream();
        WriteModel(model, opset);
        return model.ToArray();
    }

    /// <summary>Writes the ModelProto to <paramref name="stream"/>; the weights go straight from their arrays, so a model of hundreds
    /// of megabytes is not copied through nested messages.</summary>
    public void WriteModel(Stream stream, long opset = 17)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var name = new Proto().String(2, "mittts_test").ToArray();
        long graphLength = name.Length;
        foreach (var part in _nodes.Concat(_inputs).Concat(_outputs))
        {
            graphLength += FieldLength(part.Length);
        }

        foreach (var (header, floats, raw) in _initializers)
        {
            graphLength += FieldLength(TensorLength(header, floats, raw));
        }

        stream.Write(new Proto().Varint(1, 8).String(2, "MitTts.Tests").ToArray());
        WriteFieldHeader(stream, 7, graphLength);
        foreach (var node in _nodes)
        {
            WriteField(stream, 1, node);
        }

        stream.Write(name);
        foreach (var (header, floats, raw) in _initializers)
        {
            WriteFieldHeader(stream, 5, TensorLength(header, floats, raw));
            stream.Write(header);
            var data = floats is null ? raw! : System.Runtime.InteropServices.MemoryMarshal.AsBytes(floats.AsSpan());
            WriteFieldHeader(stream, 9, data.Length);
            stream.Write(data);
        }

        foreach (var input in _inputs)
        {
            WriteField(stream, 11, input);
        }

        foreach (var output in _outputs)
        {
            WriteField(stream, 12, output);
        }

        stream.Write(new Proto().Message(8, new Proto().String(1, string.Empty).Varint(2, (ulong)opset)).ToArray());
    }

    /// <summary>TensorProto's dims, data_type and name; raw_data (field 9) follows when the model is written.</summary>
    private static byte[] TensorHeader(string name, int elementType, long[] dims)
    {
        var tensor = new Proto();
        foreach (var dim in dims)
        {
            tensor.Varint(1, (ulong)dim);
        }

        return tensor.Varint(2, (ulong)elementType).String(8, name).ToArray();
    }

    private static long TensorLength(byte[] header, float[]? floats, byte[]? raw) =>
        header.Length + FieldLength(floats is null ? raw!.Length : floats.LongLength * sizeof(float));

    /// <summary>A length-delimited field's size: its tag (one byte for the fields written here), its length varint, its bytes.</summary>
    private static long FieldLength(long length) => 1 + VarintLength((ulong)length) + length;

    private static int VarintLength(ulong value)
    {
        var length = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            length++;
        }

        return length;
    }

    private static void WriteField(Stream stream, int field, byte[] value)
    {
        WriteFieldHeader(stream, field, value.Length);
        stream.Write(value);
    }

    private static void WriteFieldHeader(Stream stream, int field, long length)
    {
        Span<byte> header = stackalloc byte[11];
        header[0] = (byte)((field << 3) | 2);
        var at = 1;
        var value = (ulong)length;
        while (value >= 0x80)
        {
            header[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        header[at++] = (byte)value;
        stream.Write(header[..at]);
    }

    private static byte[] ValueInfo(string name, int elementType, object[] dims)
    {
        var shape = new Proto();
        foreach (var dim in dims)
        {
            var dimension = dim switch
            {
                int n => new Proto().Varint(1, (ulong)n),
                long n => new Proto().Varint(1, (ulong)n),
                string symbol => new Proto().String(2, symbol),
                _ => throw new ArgumentException($"Dimension {dim} is neither a number nor a name.", nameof(dims)),
            };
            shape.Message(1, dimension);
        }

        var tensorType = new Proto().Varint(1, (ulong)elementType).Message(2, shape);
        return new Proto().String(1, name).Message(2, new Proto().Message(1, tensorType)).ToArray();
    }

    private static byte[] MemoryMarshalBytes<T>(T[] values)
        where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>Protobuf wire format: varints (type 0), fixed32 (type 5), length-delimited (type 2).</summary>
    private sealed class Proto
    {
        private readonly List<byte> _bytes = [];

        public Proto Varint(int field, ulong value)
        {
            Tag(field, 0);
            Raw(value);
            return this;
        }

        public Proto Fixed32(int field, uint value)
        {
            Tag(field, 5);
            Span<byte> bytes = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
            _bytes.AddRange(bytes);
            return this;
        }

        public Proto Bytes(int field, byte[] value)
        {
            Tag(field, 2);
            Raw((ulong)value.Length);
            _bytes.AddRange(value);
            return this;
        }

        public Proto String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public Proto Message(int field, Proto message) => Bytes(field, message.ToArray());

        public byte[] ToArray() => _bytes.ToArray();

        private void Tag(int field, int wireType) => Raw((ulong)((field << 3) | wireType));

        private void Raw(ulong value)
        {
            while (value >= 0x80)
            {
                _bytes.Add((byte)(value | 0x80));
                value >>= 7;
            }

            _bytes.Add((byte)value);
        }
    }
}
