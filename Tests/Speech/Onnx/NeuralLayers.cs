namespace MitTts.Tests.Speech.Onnx;

/// <summary>The layers of a built network (convolutions, attention, LSTMs, normalizations) added to an <see cref="OnnxGraph"/> with
/// seeded pseudo-random weights, counting its parameters. Each method takes a tensor name and returns the name of its result.</summary>
/// <remarks>Weights are uniform with variance gain²/fan-in, so a layer keeps its input's scale and the untrained network's activations
/// stay finite however deep it is. Opset 17 operators only (LayerNormalization is the newest), all of which ONNX Runtime's CPU provider runs.</remarks>
public sealed class NeuralLayers(OnnxGraph graph, int seed)
{
    private readonly Random _random = new(seed);
    private readonly Dictionary<string, string> _constants = [];
    private int _names;

    public OnnxGraph Graph => graph;

    /// <summary>Trainable values added so far (weights, biases, norm scales); fixed constants such as shapes are not counted.</summary>
    public long Parameters { get; private set; }

    public string Fresh(string prefix) => $"{prefix}_{_names++}";

    /// <summary>A weight tensor of <paramref name="dims"/>, uniform in ±gain·√(3/fanIn).</summary>
    public string Weight(float gain, int fanIn, params long[] dims)
    {
        var count = 1L;
        foreach (var dim in dims)
        {
            count *= dim;
        }

        var values = new float[count];
        var bound = gain * MathF.Sqrt(3f / fanIn);
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = ((_random.NextSingle() * 2) - 1) * bound;
        }

        Parameters += count;
        var name = Fresh("w");
        graph.Constant(name, values, dims);
        return name;
    }

    /// <summary>A trainable tensor filled with one value (a norm's scale of ones, a bias of zeros).</summary>
    public string Filled(float value, params long[] dims)
    {
        var count = 1L;
        foreach (var dim in dims)
        {
            count *= dim;
        }

        var values = new float[count];
        Array.Fill(values, value);
        Parameters += count;
        var name = Fresh("p");
        graph.Constant(name, values, dims);
        return name;
    }

    /// <summary>A fixed float constant of shape [n] (or a scalar with no dims), made once per value.</summary>
    public string Floats(float[] values, params long[] dims) =>
        Shared("f:" + string.Join(',', values) + ":" + string.Join(',', dims), name => graph.Constant(name, values, dims));

    public string Scalar(float value) => Floats([value], 1);

    /// <summary>A fixed int64 constant of shape [n], made once per value (shapes, axes, slice bounds).</summary>
    public string Ints(params long[] values) =>
        Shared("i:" + string.Join(',', values), name => graph.Constant(name, values, values.Length));

    /// <summary>A fixed int64 scalar (Range's bounds, CumSum's axis).</summary>
    public string IntScalar(long value) =>
        Shared("s:" + value, name => graph.Constant(name, [value]));

    public string Op(string opType, string[] inputs, params (string Name, object Value)[] attributes)
    {
        var output = Fresh(opType.ToLowerInvariant());
        graph.Node(opType, inputs, [output], attributes);
        return output;
    }

    public string Op(string opType, string input) => Op(opType, [input]);

    public string Add(string a, string b) => Op("Add", [a, b]);

    public string Mul(string a, string b) => Op("Mul", [a, b]);

    public string Transpose(string x, params long[] perm) => Op("Transpose", [x], ("perm", perm));

    public string Unsqueeze(string x, params long[] axes) => Op("Unsqueeze", [x, Ints(axes)]);

    /// <summary>Channels [from, to) of a [B, C, T] tensor.</summary>
    public string Channels(string x, long from, long to) => Op("Slice", [x, Ints(from), Ints(to), Ints(1)]);

    public string LeakyRelu(string x, float slope) => Op("LeakyRelu", [x], ("alpha", slope));

    /// <summary>Conv1d over [B, C, T] with "same" padding (or a stride's length-dividing padding).</summary>
    public string Conv(string x, int cin, int cout, int kernel, int dilation = 1, int stride = 1, float gain = 1, int padding = -1)
    {
        var pad = padding >= 0 ? padding : dilation * (kernel - 1) / 2;
        return Op("Conv", [x, Weight(gain, cin * kernel, cout, cin, kernel), Filled(0, cout)],
            ("kernel_shape", new long[] { kernel }), ("dilations", new long[] { dilation }), ("strides", new long[] { stride }),
            ("pads", new long[] { pad, pad }));
    }

    /// <summary>ConvTranspose1d that makes T·stride frames out of T (HiFi-GAN's upsampling: kernel − stride even).</summary>
    public string ConvTranspose(string x, int cin, int cout, int kernel, int stride, int group = 1)
    {
        var pad = (kernel - stride) / 2;
        return Op("ConvTranspose", [x, Weight(1, cin * kernel / stride / group, cin, cout / group, kernel), Filled(0, cout)],
            ("kernel_shape", new long[] { kernel }), ("strides", new long[] { stride }), ("pads", new long[] { pad, pad }),
            ("group", (long)group));
    }

    /// <summary>x·W + b over the last axis.</summary>
    public string Linear(string x, int inDim, int outDim, float gain = 1) =>
        Add(Op("MatMul", [x, Weight(gain, inDim, inDim, outDim)]), Filled(0, outDim));

    /// <summary>LayerNormalization over the last axis, with its scale and bias.</summary>
    public string LayerNorm(string x, int dim) =>
        Op("LayerNormalization", [x, Filled(1, dim), Filled(0, dim)], ("axis", -1L), ("epsilon", 1e-5f));

    /// <summary>VITS's LayerNorm of [B, C, T]: over the channels at each frame.</summary>
    public string ChannelNorm(string x, int channels) => Transpose(LayerNorm(Transpose(x, 0, 2, 1), channels), 0, 2, 1);

    /// <summary>The query, key, value and output projections of an attention layer, [D, D] each; made once, they can be applied
    /// many times (ALBERT shares one layer's weights across its depth).</summary>
    public string[] AttentionWeights(int dim) => [.. Enumerable.Range(0, 4).Select(_ => Weight(1, dim, dim, dim))];

    /// <summary>Multi-head self-attention of [B, N, D]; <paramref name="keyBias"/> [B, 1, 1, N], when given, is added to the scores
    /// (−10⁴ at padding).</summary>
    public string SelfAttention(string x, int dim, int heads, string? keyBias, string[]? weights = null)
    {
        weights ??= AttentionWeights(dim);
        var split = Ints(0, 0, heads, dim / heads);
        var q = Transpose(Op("Reshape", [Op("MatMul", [x, weights[0]]), split]), 0, 2, 1, 3);
        var k = Transpose(Op("Reshape", [Op("MatMul", [x, weights[1]]), split]), 0, 2, 3, 1);
        var v = Transpose(Op("Reshape", [Op("MatMul", [x, weights[2]]), split]), 0, 2, 1, 3);
        var scores = Mul(Op("MatMul", [q, k]), Scalar(1f / MathF.Sqrt(dim / heads)));
        if (keyBias is not null)
        {
            scores = Add(scores, keyBias);
        }

        var attended = Op("MatMul", [Op("Softmax", [scores], ("axis", -1L)), v]);
        return Op("MatMul", [Op("Reshape", [Transpose(attended, 0, 2, 1, 3), Ints(0, 0, dim)]), weights[3]]);
    }

    /// <summary>A bidirectional LSTM over [1, C, T] (T steps), giving [1, 2·hidden, T] as Kokoro's encoders do.</summary>
    public string BiLstm(string x, int input, int hidden)
    {
        var sequence = Transpose(x, 2, 0, 1);
        var lstm = Op("LSTM",
            [sequence, Weight(1, input, 2, 4 * hidden, input), Weight(1, hidden, 2, 4 * hidden, hidden), Filled(0, 2, 8 * hidden)],
            ("hidden_size", (long)hidden), ("direction", "bidirectional"));

        // Y is [T, 2, 1, hidden]: both directions become the channels of each step.
        return Op("Reshape", [Transpose(lstm, 2, 1, 3, 0), Ints(0, 2 * hidden, -1)]);
    }

    /// <summary>AdaIN of [1, C, T] by a style vector [1, S]: instance norm, then the style's per-channel scale (1 + γ) and shift β.</summary>
    public string AdaIn(string x, int channels, string style, int styleDim)
    {
        var normalized = Op("InstanceNormalization", [x, Floats(Ones(channels), channels), Floats(new float[channels], channels)],
            ("epsilon", 1e-5f));
        var h = Unsqueeze(Linear(style, styleDim, 2 * channels), 2);
        var gamma = Channels(h, 0, channels);
        var beta = Channels(h, channels, 2 * channels);
        return Add(Mul(normalized, Add(gamma, Scalar(1))), beta);
    }

    /// <summary>Snake activation, x + sin²(αx)/α with a per-channel α, as Kokoro's iSTFTNet decoder uses.</summary>
    public string Snake(string x, int channels)
    {
        var alpha = Filled(1, 1, channels, 1);
        var sine = Op("Sin", Mul(x, alpha));
        return Add(x, Op("Div", [Mul(sine, sine), alpha]));
    }

    /// <summary>Repeats every frame of [B, C, T] <paramref name="times"/> times: [B, C, T·times].</summary>
    public string Repeat(string x, int times)
    {
        var expanded = Op("Expand", [Unsqueeze(x, 3), Ints(1, 1, 1, times)]);
        return Op("Reshape", [expanded, Ints(0, 0, -1)]);
    }

    /// <summary>The alignment of ids to frames from per-id frame counts <paramref name="durations"/> [B, 1, N] (whole numbers, 0 at padding),
    /// as VITS's generate_path makes it: [B, N, F] with a 1 where frame f belongs to id n; also the frame count of each row [B] and
    /// the frame indices [F].</summary>
    public (string Path, string FrameCounts, string Frames) Alignment(string durations)
    {
        var counts = Op("Max", [Op("ReduceSum", [durations, Ints(1, 2)], ("keepdims", 0L)), Scalar(1)]);
        var frameCount = Op("Cast", [Op("ReduceMax", [counts], ("keepdims", 0L))], ("to", (long)OnnxGraph.I64));
        var frames = Op("Cast", [Op("Range", [IntScalar(0), frameCount, IntScalar(1)])], ("to", (long)OnnxGraph.F32));
        var end = Op("CumSum", [durations, IntScalar(2)]);
        var start = Op("Sub", [end, durations]);
        var column = Unsqueeze(frames, 1);
        var inside = Op("And", [Op("GreaterOrEqual", [column, start]), Op("Less", [column, end])]);
        var path = Op("Cast", [inside], ("to", (long)OnnxGraph.F32));
        return (Transpose(path, 0, 2, 1), counts, frames);
    }

    /// <summary>[B, 1, L] of 1 where position &lt; count·perUnit for each row's <paramref name="counts"/> [B], else 0 (L is the
    /// length of <paramref name="positions"/> [L]).</summary>
    public string LengthMask(string positions, string counts, float perUnit)
    {
        var limit = Unsqueeze(Mul(counts, Scalar(perUnit)), 1);
        return Unsqueeze(Op("Cast", [Op("Less", [positions, limit])], ("to", (long)OnnxGraph.F32)), 1);
    }

    private static float[] Ones(int n)
    {
        var ones = new float[n];
        Array.Fill(ones, 1f);
        return ones;
    }

    private string Shared(string key, Action<string> add)
    {
        if (!_constants.TryGetValue(key, out var name))
        {
            name = Fresh("c");
            add(name);
            _constants[key] = name;
        }

        return name;
    }
}
