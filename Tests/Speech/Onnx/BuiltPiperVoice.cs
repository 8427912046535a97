namespace MitTts.Tests.Speech.Onnx;

/// <summary>A Piper voice of a real "medium" voice's size and compute, built with untrained (seeded pseudo-random) weights: what the
/// benchmark measures when no trained voice can be had. Its audio is noise of the right length; its cost is a real voice's.</summary>
/// <remarks>The shape is VITS at piper_train's medium settings: id embedding (192) → 6 transformer layers (2 heads, feed-forward 768,
/// kernel 3) → mean/log-scale projection; a duration predictor (256 filters) whose frame counts are scaled by <c>length_scale</c> and
/// rounded up; the ids' statistics expanded to frames by the alignment those counts make; 4 affine-coupling flows (WaveNet, 4 layers,
/// kernel 5); a HiFi-GAN decoder 256 → 128 → 64 → 32 channels by strides 8, 8, 4 (256 samples a frame) with resblocks of kernels
/// 3, 5, 7; tanh. About 15.6 M parameters (real medium voices: 15–20 M, ~63 MB). Durations are about 3.45 frames an id, so a phoneme
/// and its pad last about 0.08 s at 22050 Hz, as a real voice speaks. Past each row's own length the audio is exactly 0, as the
/// engine's batch trimming expects.</remarks>
public static class BuiltPiperVoice
{
    public const int SampleRate = 22050;

    /// <summary>Samples per frame: the decoder's strides 8 · 8 · 4.</summary>
    public const int HopSamples = 256;

    /// <summary>Frames an id gets before rounding up (at length_scale 1); ceil makes it ~3.45 on average.</summary>
    private const float MeanFrames = 2.95f;

    private static readonly int[] s_rates = [8, 8, 4];
    private static readonly int[] s_upsampleKernels = [16, 16, 8];
    private static readonly int[] s_resblockKernels = [3, 5, 7];
    private static readonly int[][] s_resblockDilations = [[1, 2], [2, 6], [3, 12]];

    /// <summary>Writes the model to <paramref name="path"/> and returns its parameter count.</summary>
    /// <param name="path">The <c>NAME.onnx</c> to write.</param>
    /// <param name="divisor">1 for a medium voice's size; every channel count is divided by it (4 makes a model a test runs in
    /// milliseconds: the same graph, about a sixteenth of the weights).</param>
    public static long Write(string path, int divisor = 1)
    {
        var layers = Build(divisor);
        using (var file = File.Create(path))
        {
            layers.Graph.WriteModel(file);
        }

        return layers.Parameters;
    }

    /// <summary>The <c>.onnx.json</c> of a medium voice at 22050 Hz (en-us, Piper's symbol map of the test voices).</summary>
    public static string Config() => NeuralTestModels.PiperConfig(sampleRate: SampleRate, quality: "medium");

    private static NeuralLayers Build(int divisor)
    {
        var hidden = 192 / divisor;
        var feedForward = 768 / divisor;
        var durationFilters = 256 / divisor;
        var decoderChannels = 256 / divisor;
        var graph = new OnnxGraph()
            .Input("input", OnnxGraph.I64, "B", "N")
            .Input("input_lengths", OnnxGraph.I64, "B")
            .Input("scales", OnnxGraph.F32, 3);
        var l = new NeuralLayers(graph, seed: 12);

        // Masks: [B, N] ids inside each row, [B, 1, N] for channel-first convolutions, [B, 1, 1, N] added to attention scores.
        var n = l.Op("Gather", [l.Op("Shape", "input"), l.IntScalar(1)]);
        var positions = l.Op("Range", [l.IntScalar(0), n, l.IntScalar(1)]);
        var idMask = l.Op("Cast", [l.Op("Less", [positions, l.Unsqueeze("input_lengths", 1)])], ("to", (long)OnnxGraph.F32));
        var mask = l.Unsqueeze(idMask, 1);
        var keyBias = l.Unsqueeze(l.Mul(l.Op("Sub", [idMask, l.Scalar(1)]), l.Scalar(1e4f)), 1, 2);
        var noiseScale = l.Op("Slice", ["scales", l.Ints(0), l.Ints(1)]);
        var lengthScale = l.Op("Slice", ["scales", l.Ints(1), l.Ints(2)]);

        // Text encoder.
        var x = l.Mul(l.Op("Gather", [l.Weight(1, 1, 256, hidden), "input"]), l.Unsqueeze(idMask, 2));
        for (var layer = 0; layer < 6; layer++)
        {
            x = l.LayerNorm(l.Add(x, l.SelfAttention(x, hidden, 2, keyBias)), hidden);
            var h = l.Mul(l.Transpose(x, 0, 2, 1), mask);
            h = l.Mul(l.Op("Relu", l.Conv(h, hidden, feedForward, 3, gain: MathF.Sqrt(2))), mask);
            h = l.Mul(l.Conv(h, feedForward, hidden, 3), mask);
            x = l.LayerNorm(l.Add(x, l.Transpose(h, 0, 2, 1)), hidden);
        }

        var encoded = l.Mul(l.Transpose(x, 0, 2, 1), mask);
        var stats = l.Mul(l.Conv(encoded, hidden, 2 * hidden, 1), mask);

        // Duration predictor: log frames per id, kept near log(MeanFrames) so the untrained network speaks at a real voice's pace.
        var d = l.Mul(l.Op("Relu", l.Conv(encoded, hidden, durationFilters, 3, gain: MathF.Sqrt(2))), mask);
        d = l.ChannelNorm(d, durationFilters);
        d = l.Mul(l.Op("Relu", l.Conv(d, durationFilters, durationFilters, 3, gain: MathF.Sqrt(2))), mask);
        d = l.ChannelNorm(d, durationFilters);
        var logFrames = l.Add(l.Mul(l.Op("Tanh", l.Conv(d, durationFilters, 1, 1)), l.Scalar(0.25f)), l.Scalar(MathF.Log(MeanFrames)));
        var durations = l.Op("Ceil", l.Mul(l.Mul(l.Op("Exp", logFrames), mask), lengthScale));
        var (path, frameCounts, frames) = l.Alignment(durations);
        var frameMask = l.LengthMask(frames, frameCounts, 1);

        // The prior at frame rate; VITS samples it with Gaussian noise times noise_scale, here a fixed function of the log-scale stands in.
        var framed = l.Op("MatMul", [stats, path]);
        var z = l.Add(l.Channels(framed, 0, hidden), l.Mul(l.Op("Tanh", l.Channels(framed, hidden, 2 * hidden)), noiseScale));
        z = l.Mul(z, frameMask);

        // Flows, run in reverse as at inference: each coupling shifts one half by a WaveNet of the other, then the halves swap.
        var half = hidden / 2;
        for (var flow = 0; flow < 4; flow++)
        {
            var x0 = l.Channels(z, 0, half);
            var x1 = l.Channels(z, half, hidden);
            var h = l.Mul(l.Conv(x0, half, hidden, 1), frameMask);
            string? skip = null;
            for (var layer = 0; layer < 4; layer++)
            {
                var gates = l.Conv(h, hidden, 2 * hidden, 5);
                var acts = l.Mul(l.Op("Tanh", l.Channels(gates, 0, hidden)), l.Op("Sigmoid", l.Channels(gates, hidden, 2 * hidden)));
                var resSkip = l.Conv(acts, hidden, 2 * hidden, 1);
                h = l.Mul(l.Add(h, l.Channels(resSkip, 0, hidden)), frameMask);
                var s = l.Channels(resSkip, hidden, 2 * hidden);
                skip = skip is null ? s : l.Add(skip, s);
            }

            var shift = l.Conv(l.Mul(skip!, frameMask), hidden, half, 1, gain: 0.1f);
            x1 = l.Mul(l.Op("Sub", [x1, shift]), frameMask);
            z = l.Op("Concat", [x1, x0], ("axis", 1L));
        }

        // HiFi-GAN decoder.
        var y = l.Conv(z, hidden, decoderChannels, 7);
        var channels = decoderChannels;
        for (var stage = 0; stage < s_rates.Length; stage++)
        {
            y = l.ConvTranspose(l.LeakyRelu(y, 0.1f), channels, channels / 2, s_upsampleKernels[stage], s_rates[stage]);
            channels /= 2;
            string? sum = null;
            for (var r = 0; r < s_resblockKernels.Length; r++)
            {
                var block = y;
                foreach (var dilation in s_resblockDilations[r])
                {
                    block = l.Add(block, l.Conv(l.LeakyRelu(block, 0.1f), channels, channels, s_resblockKernels[r], dilation, gain: 0.5f));
                }

                sum = sum is null ? block : l.Add(sum, block);
            }

            y = l.Mul(sum!, l.Scalar(1f / s_resblockKernels.Length));
        }

        var audio = l.Op("Tanh", l.Conv(l.LeakyRelu(y, 0.01f), channels, 1, 7));

        // Exactly silent past each row's frames: a padded batch row ends where its own audio does.
        var length = l.Op("Gather", [l.Op("Shape", audio), l.IntScalar(2)]);
        var samples = l.Op("Cast", [l.Op("Range", [l.IntScalar(0), length, l.IntScalar(1)])], ("to", (long)OnnxGraph.F32));
        graph.Node("Mul", [audio, l.LengthMask(samples, frameCounts, HopSamples)], ["output"])
            .Output("output", OnnxGraph.F32, "B", 1, "T");
        return l;
    }
}
