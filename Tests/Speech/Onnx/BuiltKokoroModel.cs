using System.IO.Compression;
using MitTts.Speech.Engines.Onnx;

namespace MitTts.Tests.Speech.Onnx;

/// <summary>A Kokoro model of Kokoro-82M's size and compute, built with untrained (seeded pseudo-random) weights, with its voice pack
/// and vocabulary: what the benchmark measures when the real model cannot be had. Its audio is noise of the right length.</summary>
/// <remarks>The shape follows Kokoro (StyleTTS 2 with an iSTFTNet decoder): an ALBERT-like encoder (768 wide, feed-forward 2048,
/// one layer's weights run 12 times) projected to 512; a text encoder (3 convolutions of kernel 5, a bidirectional LSTM); a prosody
/// predictor (LSTMs conditioned on the style's second half) whose durations are divided by <c>speed</c> and rounded; the alignment
/// they make; F0 and energy branches at twice the frame rate; a decoder of style-conditioned (AdaIN) residual blocks 1024 wide; a
/// generator 512 → 256 → 128 by strides 10 and 6 with AdaIN resblocks (kernels 3, 7, 11; Snake activations), fed by a sine source
/// from F0 through resblocks of its own (kernels 7, 11); 22 spectral channels turned to audio by an inverse STFT (hop 5) as a fixed
/// transposed convolution. About 81.1 M parameters (Kokoro-82M: 81.8 M). A frame is 600 samples at 24 kHz (25 ms); tokens last
/// about 2.6 frames, a real voice's pace.</remarks>
public static class BuiltKokoroModel
{
    /// <summary>Samples per duration frame: 2 (F0 rate) · 10 · 6 (generator) · 5 (iSTFT hop).</summary>
    public const int FrameSamples = 600;

    private const int SampleRate = 24000;
    private const float MeanFrames = 2.6f;
    private const int StyleHalf = 128;
    private const int FftBins = 11;
    private const int FftSize = 20;
    private const int Hop = 5;

    /// <summary>Writes kokoro-v1.0.onnx, voices-v1.0.bin (voices af_heart and am_adam) and config.json into <paramref name="folder"/>;
    /// returns the model's parameter count.</summary>
    /// <param name="folder">The models folder.</param>
    /// <param name="divisor">1 for Kokoro-82M's size; every width is divided by it (8 makes a model a test runs quickly).</param>
    public static long Write(string folder, int divisor = 1)
    {
        var layers = Build(divisor);
        using (var file = File.Create(Path.Combine(folder, NeuralVoiceDiscovery.KokoroModelFile)))
        {
            layers.Graph.WriteModel(file);
        }

        File.WriteAllBytes(Path.Combine(folder, NeuralVoiceDiscovery.KokoroVoicesFile), Voices("af_heart", "am_adam"));
        File.WriteAllText(Path.Combine(folder, NeuralVoiceDiscovery.KokoroConfigFile), NeuralTestModels.KokoroConfig());
        return layers.Parameters;
    }

    private static NeuralLayers Build(int divisor)
    {
        int W(int width) => Math.Max(2, width / divisor);
        var bert = W(768);
        var model = W(512);
        var lstm = W(256);
        var wide = W(1024);
        var graph = new OnnxGraph()
            .Input("tokens", OnnxGraph.I64, 1, "N")
            .Input("style", OnnxGraph.F32, 1, 256)
            .Input("speed", OnnxGraph.F32, 1);
        var l = new NeuralLayers(graph, seed: 82);

        // The style's first half conditions the decoder, its second half the prosody predictor, as Kokoro splits ref_s.
        var decoderStyle = l.Op("Slice", ["style", l.Ints(0), l.Ints(StyleHalf), l.Ints(1)]);
        var prosodyStyle = l.Op("Slice", ["style", l.Ints(StyleHalf), l.Ints(2 * StyleHalf), l.Ints(1)]);

        // ALBERT: one layer's weights, run 12 times.
        var b = l.Linear(l.Op("Gather", [l.Weight(1, 1, 256, W(128)), "tokens"]), W(128), bert);
        b = Albert(l, b, bert, W(2048), runs: 12);
        var bertOut = l.Transpose(l.Linear(b, bert, model), 0, 2, 1);

        // Text encoder.
        var t = l.Transpose(l.Op("Gather", [l.Weight(1, 1, 256, model), "tokens"]), 0, 2, 1);
        for (var i = 0; i < 3; i++)
        {
            t = l.LeakyRelu(l.ChannelNorm(l.Conv(t, model, model, 5), model), 0.2f);
        }

        var textEncoded = l.BiLstm(t, model, lstm);

        // Prosody predictor: LSTMs over the ids, each followed by a style-conditioned norm and the style appended again.
        var tokenCount = l.Op("Gather", [l.Op("Shape", "tokens"), l.Ints(1)]);
        var styleColumns = l.Op("Expand", [l.Unsqueeze(prosodyStyle, 2), l.Op("Concat", [l.Ints(1, StyleHalf), tokenCount], ("axis", 0L))]);
        var p = l.Op("Concat", [bertOut, styleColumns], ("axis", 1L));
        for (var i = 0; i < 3; i++)
        {
            var h = l.AdaIn(l.BiLstm(p, model + StyleHalf, lstm), 2 * lstm, prosodyStyle, StyleHalf);
            p = l.Op("Concat", [h, styleColumns], ("axis", 1L));
        }

        var durationFeatures = l.Transpose(l.BiLstm(p, model + StyleHalf, lstm), 0, 2, 1);
        var logFrames = l.Add(l.Mul(l.Op("Tanh", l.Linear(durationFeatures, 2 * lstm, 1)), l.Scalar(0.25f)), l.Scalar(MathF.Log(MeanFrames)));
        var frames = l.Op("Div", [l.Op("Exp", l.Transpose(logFrames, 0, 2, 1)), "speed"]);
        var durations = l.Op("Max", [l.Op("Round", frames), l.Scalar(1)]);
        var (path, _, _) = l.Alignment(durations);

        // F0 and energy at twice the frame rate, from the predictor's features at frame rate.
        var shared = l.BiLstm(l.Op("MatMul", [p, path]), model + StyleHalf, lstm);
        var f0 = Prosody(l, shared, 2 * lstm, prosodyStyle);
        var energy = Prosody(l, shared, 2 * lstm, prosodyStyle);
        var pitch = l.Add(l.Mul(l.Op("Tanh", f0), l.Scalar(40)), l.Scalar(160));

        // Decoder.
        var asr = l.Op("MatMul", [textEncoded, path]);
        var f0Down = l.Conv(pitch, 1, 1, 3, stride: 2, gain: 0.01f, padding: 1);
        var energyDown = l.Conv(energy, 1, 1, 3, stride: 2, padding: 1);
        var x = AdaInBlock(l, l.Op("Concat", [asr, f0Down, energyDown], ("axis", 1L)), 2 * lstm + 2, wide, decoderStyle, upsample: false);
        var asrRes = l.Conv(asr, 2 * lstm, W(64), 1);
        for (var i = 0; i < 4; i++)
        {
            var input = l.Op("Concat", [x, asrRes, f0Down, energyDown], ("axis", 1L));
            x = AdaInBlock(l, input, wide + W(64) + 2, i < 3 ? wide : model, decoderStyle, upsample: i == 3);
        }

        var audio = Generator(l, x, model, pitch, decoderStyle);
        graph.Node("Reshape", [l.Op("Tanh", audio), l.Ints(-1)], ["audio"])
            .Output("audio", OnnxGraph.F32, "T");
        return l;
    }

    private static string Albert(NeuralLayers l, string x, int dim, int feedForward, int runs)
    {
        // The shared weights are made once and the same names reused by every run.
        var heads = Math.Max(1, dim / 64);
        var shared = new AlbertLayer(l, dim, feedForward, heads);
        for (var i = 0; i < runs; i++)
        {
            x = shared.Apply(x);
        }

        return x;
    }

    /// <summary>F0 or energy: three AdaIN blocks (the second doubling the frame rate) and a projection to one channel.</summary>
    private static string Prosody(NeuralLayers l, string x, int channels, string style)
    {
        x = AdaInBlock(l, x, channels, channels, style, upsample: false);
        x = AdaInBlock(l, x, channels, channels / 2, style, upsample: true);
        x = AdaInBlock(l, x, channels / 2, channels / 2, style, upsample: false);
        return l.Conv(x, channels / 2, 1, 1);
    }

    /// <summary>StyleTTS 2's AdainResBlk1d: AdaIN, LeakyReLU, (×2 upsampling), conv k3, AdaIN, LeakyReLU, conv k3, plus the shortcut,
    /// over √2.</summary>
    private static string AdaInBlock(NeuralLayers l, string x, int cin, int cout, string style, bool upsample)
    {
        var shortcut = upsample ? l.Repeat(x, 2) : x;
        if (cin != cout)
        {
            shortcut = l.Op("Conv", [shortcut, l.Weight(1, cin, cout, cin, 1)], ("kernel_shape", new long[] { 1 }));
        }

        var r = l.LeakyRelu(l.AdaIn(x, cin, style, StyleHalf), 0.2f);
        if (upsample)
        {
            // Kokoro's depthwise kernel is 3 with an output padding; 4 doubles the length without one.
            r = l.ConvTranspose(r, cin, cin, 4, 2, group: cin);
        }

        r = l.Conv(r, cin, cout, 3);
        r = l.Conv(l.LeakyRelu(l.AdaIn(r, cout, style, StyleHalf), 0.2f), cout, cout, 3);
        return l.Mul(l.Add(r, shortcut), l.Scalar(1 / MathF.Sqrt(2)));
    }

    /// <summary>The iSTFTNet generator: a harmonic source from F0, two upsampling stages with AdaIN resblocks, and the inverse STFT.</summary>
    private static string Generator(NeuralLayers l, string x, int channels, string pitch, string style)
    {
        // The sine source at the spectral frame rate (24 kHz / hop 5), from F0 repeated to it.
        var sourceRate = (float)SampleRate / Hop;
        var f0 = l.Repeat(pitch, 60);
        var phase = l.Op("CumSum", [l.Mul(f0, l.Scalar(2 * MathF.PI / sourceRate)), l.IntScalar(2)]);
        var source = l.Conv(l.Op("Sin", phase), 1, FftSize + 2, 1);

        int[] rates = [10, 6];
        int[] kernels = [20, 12];
        for (var stage = 0; stage < 2; stage++)
        {
            var cout = channels / 2;
            x = l.ConvTranspose(l.LeakyRelu(x, 0.1f), channels, cout, kernels[stage], rates[stage]);
            var noise = stage == 0
                ? l.Conv(source, FftSize + 2, cout, 12, stride: 6, padding: 3)
                : l.Conv(source, FftSize + 2, cout, 1);
            x = l.Add(x, ResBlock(l, noise, cout, stage == 0 ? 7 : 11, style));
            string? sum = null;
            foreach (var kernel in (ReadOnlySpan<int>)[3, 7, 11])
            {
                var block = ResBlock(l, x, cout, kernel, style);
                sum = sum is null ? block : l.Add(sum, block);
            }

            x = l.Mul(sum!, l.Scalar(1f / 3));
            channels = cout;
        }

        // Magnitude (bounded before exp, so the untrained network cannot overflow) and phase per bin, then the inverse STFT.
        var spec = l.Conv(l.LeakyRelu(x, 0.01f), channels, 2 * FftBins, 7);
        var magnitude = l.Op("Exp", l.Mul(l.Op("Tanh", l.Channels(spec, 0, FftBins)), l.Scalar(2)));
        var phase2 = l.Op("Sin", l.Channels(spec, FftBins, 2 * FftBins));
        var real = l.Mul(magnitude, l.Op("Cos", phase2));
        var imaginary = l.Mul(magnitude, l.Op("Sin", phase2));
        var frames = l.Op("ConvTranspose", [l.Op("Concat", [real, imaginary], ("axis", 1L)), InverseStft(l)],
            ("kernel_shape", new long[] { FftSize }), ("strides", new long[] { Hop }));

        // ConvTranspose gives (L − 1)·5 + 20 = L·5 + 15 samples; the overhang is cut (8 at the start, 7 at the end) to L·5.
        return l.Op("Slice", [frames, l.Ints(8), l.Ints(-7), l.Ints(2)]);
    }

    /// <summary>iSTFTNet's AdaINResBlock1: for dilations 1, 3, 5, AdaIN → Snake → dilated conv → AdaIN → Snake → conv, added back.</summary>
    private static string ResBlock(NeuralLayers l, string x, int channels, int kernel, string style)
    {
        foreach (var dilation in (ReadOnlySpan<int>)[1, 3, 5])
        {
            var h = l.Conv(l.Snake(l.AdaIn(x, channels, style, StyleHalf), channels), channels, channels, kernel, dilation);
            h = l.Conv(l.Snake(l.AdaIn(h, channels, style, StyleHalf), channels), channels, channels, kernel, gain: 0.5f);
            x = l.Add(x, h);
        }

        return x;
    }

    /// <summary>The inverse real DFT of 11 bins with a Hann window, as ConvTranspose weights [22, 1, 20] (real parts, then imaginary).</summary>
    private static string InverseStft(NeuralLayers l)
    {
        var weights = new float[2 * FftBins * FftSize];
        for (var bin = 0; bin < FftBins; bin++)
        {
            var twice = bin is 0 or FftBins - 1 ? 1f : 2f;
            for (var n = 0; n < FftSize; n++)
            {
                var window = 0.5f - (0.5f * MathF.Cos(2 * MathF.PI * n / FftSize));
                var angle = 2 * MathF.PI * bin * n / FftSize;
                weights[(bin * FftSize) + n] = twice * window * MathF.Cos(angle) / FftSize;
                weights[((FftBins + bin) * FftSize) + n] = -twice * window * MathF.Sin(angle) / FftSize;
            }
        }

        return l.Floats(weights, 2 * FftBins, 1, FftSize);
    }

    /// <summary>voices-v1.0.bin with seeded styles of a real pack's spread (values of a few tenths), one [510, 1, 256] array a voice.</summary>
    private static byte[] Voices(params string[] voices)
    {
        var random = new Random(256);
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var voice in voices)
            {
                var data = new float[510 * 256];
                for (var i = 0; i < data.Length; i++)
                {
                    data[i] = ((random.NextSingle() * 2) - 1) * 0.5f;
                }

                using var entry = zip.CreateEntry(voice + ".npy", CompressionLevel.NoCompression).Open();
                entry.Write(NeuralTestModels.Npy(data, "(510, 1, 256)"));
            }
        }

        return buffer.ToArray();
    }

    /// <summary>One transformer layer whose weights are made once and applied as often as asked.</summary>
    private sealed class AlbertLayer
    {
        private readonly NeuralLayers _l;
        private readonly int _dim;
        private readonly int _heads;
        private readonly string[] _attention;
        private readonly (string Scale, string Bias)[] _norms;
        private readonly (string W, string B)[] _feedForward;

        public AlbertLayer(NeuralLayers l, int dim, int feedForward, int heads)
        {
            _l = l;
            _dim = dim;
            _heads = heads;
            _attention = l.AttentionWeights(dim);
            _norms = [(l.Filled(1, dim), l.Filled(0, dim)), (l.Filled(1, dim), l.Filled(0, dim))];
            _feedForward = [(l.Weight(MathF.Sqrt(2), dim, dim, feedForward), l.Filled(0, feedForward)), (l.Weight(1, feedForward, feedForward, dim), l.Filled(0, dim))];
        }

        public string Apply(string x)
        {
            var l = _l;
            x = Norm(l.Add(x, l.SelfAttention(x, _dim, _heads, keyBias: null, _attention)), _norms[0]);

            // GELU by its sigmoid approximation, x·σ(1.702x): opset 17 has no Gelu operator.
            var h = l.Add(l.Op("MatMul", [x, _feedForward[0].W]), _feedForward[0].B);
            h = l.Mul(h, l.Op("Sigmoid", l.Mul(h, l.Scalar(1.702f))));
            h = l.Add(l.Op("MatMul", [h, _feedForward[1].W]), _feedForward[1].B);
            return Norm(l.Add(x, h), _norms[1]);
        }

        private string Norm(string x, (string Scale, string Bias) norm) =>
            _l.Op("LayerNormalization", [x, norm.Scale, norm.Bias], ("axis", -1L), ("epsilon", 1e-12f));
    }
}
