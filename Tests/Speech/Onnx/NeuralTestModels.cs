using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace MitTts.Tests.Speech.Onnx;

/// <summary>Tiny models with the exact inputs and outputs of Piper and Kokoro, whose audio spells out what they were given:
/// every id becomes a block of samples of value id/4096 (plus 256·sid/4096 for a Piper speaker), as long as the length scale says.</summary>
public static class NeuralTestModels
{
    /// <summary>Samples per id at length_scale 1 (Piper) or speed 1 (Kokoro).</summary>
    public const int BlockSamples = 100;

    /// <summary>Samples per unit of an encoded value: a value v is written as v/4096 and read back from 16-bit PCM.</summary>
    public const double Unit = 32767.0 / 4096;

    public const int PiperSampleRate = 16000;

    /// <summary>Every symbol a Piper voice of ours knows, ids in order from 0.</summary>
    public const string PiperSymbols =
        "_^$ !'(),-.:;?abcdefghijklmnopqrstuvwxyzæçðøħŋœǀǁǂǃɐɑɒɓɔɕɖɗɘəɚɛɜɞɟɠɡɢɣɤɥɦɧɨɪɫɬɭɮɯɰɱɲɳɴɵɶɸɹɺɻɽɾʀʁʂʃʄʈʉʊʋʌʍʎʏʐʑʒʔʕʘʙʛʜʝʟʡʢʲˈˌːˑ˞βθχᵻⱱ\u0303\u0327\u0301\u0300\u0329\u032a";

    /// <summary>A Piper-shaped model; <paramref name="withSpeakers"/> adds <c>sid</c>, <paramref name="withLengths"/> an int64
    /// <c>output_lengths</c> output, <paramref name="slowMatMuls"/> a chain of 1024×1024 products that makes a run take seconds.</summary>
    public static byte[] Piper(bool withSpeakers = false, bool withLengths = false, int slowMatMuls = 0)
    {
        var graph = new OnnxGraph()
            .Input("input", OnnxGraph.I64, "B", "N")
            .Input("input_lengths", OnnxGraph.I64, "B")
            .Input("scales", OnnxGraph.F32, 3);
        if (withSpeakers)
        {
            graph.Input("sid", OnnxGraph.I64, "B");
        }

        graph.Constant("table", Table(), 256)
            .Constant("axis1", [1L], 1)
            .Constant("axis2", [2L], 1)
            .Constant("index1", [1L])
            .Constant("zero", [0L])
            .Constant("one", [1L])
            .Constant("slice_start", [1L], 1)
            .Constant("slice_end", [2L], 1)
            .Constant("block", [(float)BlockSamples], 1)
            .Constant("speaker_scale", [256f / 4096], 1)
            .Constant("audio_shape", [0L, 1L, -1L], 3)
            .Node("Gather", ["table", "input"], ["values"]);
        var voiced = "values";
        if (withSpeakers)
        {
            graph.Node("Cast", ["sid"], ["sid_f"], ("to", (long)OnnxGraph.F32))
                .Node("Unsqueeze", ["sid_f", "axis1"], ["sid_col"])
                .Node("Mul", ["sid_col", "speaker_scale"], ["sid_value"])
                .Node("Add", ["values", "sid_value"], ["voiced"]);
            voiced = "voiced";
        }

        // Past each row's length the audio is zero, as VITS masks a padded row.
        graph.Node("Shape", ["input"], ["input_shape"])
            .Node("Gather", ["input_shape", "index1"], ["n"])
            .Node("Range", ["zero", "n", "one"], ["positions"])
            .Node("Unsqueeze", ["input_lengths", "axis1"], ["lengths_col"])
            .Node("Less", ["positions", "lengths_col"], ["mask_b"])
            .Node("Cast", ["mask_b"], ["mask"], ("to", (long)OnnxGraph.F32))
            .Node("Mul", [voiced, "mask"], ["masked"])
            .Node("Unsqueeze", ["masked", "axis2"], ["masked3"])
            .Node("Slice", ["scales", "slice_start", "slice_end"], ["length_scale"])
            .Node("Mul", ["length_scale", "block"], ["repeat_f"])
            .Node("Cast", ["repeat_f"], ["repeat"], ("to", (long)OnnxGraph.I64))
            .Node("Concat", ["input_shape", "repeat"], ["blocks_shape"], ("axis", 0L))
            .Node("Expand", ["masked3", "blocks_shape"], ["blocks"])
            .Node("Reshape", ["blocks", "audio_shape"], [slowMatMuls > 0 ? "audio" : "output"]);
        if (slowMatMuls > 0)
        {
            // The product chain depends on an input, so it cannot be folded away when the session is made; its result adds 0.
            graph.Constant("identity", Identity(1024), 1024, 1024)
                .Constant("nothing", [0f], 1)
                .Node("Mul", ["identity", "length_scale"], ["chain_0"]);
            for (var i = 0; i < slowMatMuls; i++)
            {
                graph.Node("MatMul", [$"chain_{i}", "identity"], [$"chain_{i + 1}"]);
            }

            graph.Node("ReduceMean", [$"chain_{slowMatMuls}"], ["chain_mean"])
                .Node("Mul", ["chain_mean", "nothing"], ["chain_zero"])
                .Node("Add", ["audio", "chain_zero"], ["output"]);
        }

        graph.Output("output", OnnxGraph.F32, "B", 1, "T");
        if (withLengths)
        {
            graph.Node("Mul", ["input_lengths", "repeat"], ["output_lengths"])
                .Output("output_lengths", OnnxGraph.I64, "B");
        }

        return graph.ToModel();
    }

    /// <summary>A Kokoro-shaped model: tokens [1, N], style [1, 256], speed [1]; its audio is the token blocks (100/speed samples
    /// each) followed by two samples that carry style[0, 0] and style[0, 1].</summary>
    public static byte[] Kokoro() =>
        new OnnxGraph()
            .Input("tokens", OnnxGraph.I64, 1, "N")
            .Input("style", OnnxGraph.F32, 1, 256)
            .Input("speed", OnnxGraph.F32, 1)
            .Constant("table", Table(), 256)
            .Constant("axis2", [2L], 1)
            .Constant("block", [(float)BlockSamples], 1)
            .Constant("flat", [-1L], 1)
            .Constant("style_start", [0L, 0L], 2)
            .Constant("style_end", [1L, 2L], 2)
            .Constant("style_axes", [0L, 1L], 2)
            .Constant("encode", [1f / 4096], 1)
            .Node("Gather", ["table", "tokens"], ["values"])
            .Node("Unsqueeze", ["values", "axis2"], ["values3"])
            .Node("Div", ["block", "speed"], ["repeat_f"])
            .Node("Cast", ["repeat_f"], ["repeat"], ("to", (long)OnnxGraph.I64))
            .Node("Shape", ["tokens"], ["tokens_shape"])
            .Node("Concat", ["tokens_shape", "repeat"], ["blocks_shape"], ("axis", 0L))
            .Node("Expand", ["values3", "blocks_shape"], ["blocks"])
            .Node("Reshape", ["blocks", "flat"], ["blocks_flat"])
            .Node("Slice", ["style", "style_start", "style_end", "style_axes"], ["style_head"])
            .Node("Reshape", ["style_head", "flat"], ["style_flat"])
            .Node("Mul", ["style_flat", "encode"], ["style_tail"])
            .Node("Concat", ["blocks_flat", "style_tail"], ["audio"], ("axis", 0L))
            .Output("audio", OnnxGraph.F32, "T")
            .ToModel();

    /// <summary>A Piper config for <see cref="Piper"/>: <see cref="PiperSymbols"/> as the id map, less the symbols in <c>without</c>
    /// (to make unknown phonemes).</summary>
    public static string PiperConfig(
        string espeakVoice = "en-us", string language = "en_US", IReadOnlyList<string>? speakers = null, float lengthScale = 1f, string without = "",
        int sampleRate = PiperSampleRate, string quality = "x_low")
    {
        var map = new Dictionary<string, long[]>();
        var id = 0L;
        foreach (var rune in PiperSymbols.EnumerateRunes())
        {
            var symbol = rune.ToString();
            if (!without.Contains(symbol, StringComparison.Ordinal))
            {
                map[symbol] = [id];
            }

            id++;
        }

        var speakerMap = new Dictionary<string, int>();
        for (var i = 0; speakers is not null && i < speakers.Count; i++)
        {
            speakerMap[speakers[i]] = i;
        }

        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["audio"] = new Dictionary<string, object> { ["sample_rate"] = sampleRate, ["quality"] = quality },
            ["espeak"] = new Dictionary<string, object> { ["voice"] = espeakVoice },
            ["language"] = new Dictionary<string, object> { ["code"] = language },
            ["inference"] = new Dictionary<string, object> { ["noise_scale"] = 0.667, ["length_scale"] = lengthScale, ["noise_w"] = 0.8 },
            ["phoneme_type"] = "espeak",
            ["phoneme_id_map"] = map,
            ["num_symbols"] = 256,
            ["num_speakers"] = Math.Max(1, speakers?.Count ?? 1),
            ["speaker_id_map"] = speakerMap,
            ["dataset"] = "test",
        });
    }

    /// <summary>Kokoro's config.json: a vocabulary of <see cref="PiperSymbols"/> (less the pad symbols), ids from 1 as Kokoro's are.</summary>
    public static string KokoroConfig()
    {
        var vocab = new Dictionary<string, long>();
        var id = 1L;
        foreach (var rune in PiperSymbols.EnumerateRunes())
        {
            if (rune.Value is not ('_' or '^' or '$'))
            {
                vocab[rune.ToString()] = id++;
            }
        }

        return JsonSerializer.Serialize(new Dictionary<string, object> { ["vocab"] = vocab });
    }

    /// <summary>voices-v1.0.bin: a zip of .npy float32 [510, 1, 256], where voice number v (from 1) has v at [r, 0, 0] and r at [r, 0, 1].</summary>
    public static byte[] KokoroVoices(params string[] voices)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            for (var v = 0; v < voices.Length; v++)
            {
                var data = new float[510 * 256];
                for (var r = 0; r < 510; r++)
                {
                    data[r * 256] = v + 1;
                    data[(r * 256) + 1] = r;
                }

                using var entry = zip.CreateEntry(voices[v] + ".npy", CompressionLevel.NoCompression).Open();
                entry.Write(Npy(data, "(510, 1, 256)"));
            }
        }

        return buffer.ToArray();
    }

    /// <summary>A NumPy .npy file (format 1.0) of little-endian float32 in C order.</summary>
    public static byte[] Npy(float[] data, string shape)
    {
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}";
        var total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + ((64 - (total % 64)) % 64)) + "\n";
        using var npy = new MemoryStream();
        npy.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        npy.Write(BitConverter.GetBytes((ushort)header.Length));
        npy.Write(Encoding.ASCII.GetBytes(header));
        npy.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
        return npy.ToArray();
    }

    /// <summary>The values a 16-bit stream carries, one per block of <paramref name="block"/> samples (read at the block's middle).</summary>
    public static long[] Blocks(ReadOnlySpan<short> pcm, int block)
    {
        var values = new long[pcm.Length / block];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Value(pcm[(i * block) + (block / 2)]);
        }

        return values;
    }

    public static long Value(short sample) => (long)Math.Round(sample / Unit);

    private static float[] Table()
    {
        var table = new float[256];
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = i / 4096f;
        }

        return table;
    }

    private static float[] Identity(int n)
    {
        var matrix = new float[n * n];
        for (var i = 0; i < n; i++)
        {
            matrix[(i * n) + i] = 1;
        }

        return matrix;
    }
}
