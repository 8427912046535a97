using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Concentus;
using MitTts.Speech.Audio;
using NLayer;

namespace MitTts.Tests.Support;

/// <summary>Independent decoders for what our encoders produce: ffmpeg, sox and opusinfo on disk, NLayer and Concentus in process.</summary>
public static class AudioDecoders
{
    /// <summary>Decodes any format ffmpeg knows to 16-bit mono PCM at the stream's own rate (as ffprobe reports it).</summary>
    public static async Task<Pcm> Ffmpeg(byte[] media, string extension)
    {
        var probe = await ExternalTool.Ffprobe(media, extension);
        var path = await TempFile(media, extension);
        try
        {
            var (_, bytes, _) = await ExternalTool.Run("ffmpeg", "-v", "error", "-i", path, "-f", "s16le", "-acodec", "pcm_s16le", "-");
            return new Pcm(Pcm.FromS16Le(bytes), probe.SampleRate, probe.Channels);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>sox's reading of a file: sample rate, channels and duration in seconds.</summary>
    public static async Task<(int SampleRate, int Channels, double DurationSeconds)> Sox(byte[] media, string extension)
    {
        var path = await TempFile(media, extension);
        try
        {
            var rate = (await ExternalTool.Run("soxi", "-r", path)).Stdout.Trim();
            var channels = (await ExternalTool.Run("soxi", "-c", path)).Stdout.Trim();
            var duration = (await ExternalTool.Run("soxi", "-D", path)).Stdout.Trim();
            return (int.Parse(rate, CultureInfo.InvariantCulture), int.Parse(channels, CultureInfo.InvariantCulture), double.Parse(duration, CultureInfo.InvariantCulture));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Decodes a file with sox to 16-bit mono samples, reading until the end of the data.</summary>
    public static async Task<short[]> SoxDecode(byte[] media, string extension)
    {
        var path = await TempFile(media, extension);
        try
        {
            var (_, bytes, _) = await ExternalTool.Run("sox", "-V1", path, "-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-");
            return Pcm.FromS16Le(bytes);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>opusinfo's report of an Ogg/Opus file (it exits non-zero on a broken stream).</summary>
    public static async Task<string> OpusInfo(byte[] ogg)
    {
        var path = await TempFile(ogg, "ogg");
        try
        {
            var (stdout, _, stderr) = await ExternalTool.Run("opusinfo", path);
            return stdout + stderr;
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Decodes MP3 with NLayer, which itself trims the encoder delay and padding the LAME tag announces; its output
    /// lags by the 529-sample delay of the MP3 synthesis filterbank, which ffmpeg removes and NLayer does not.</summary>
    public static Pcm Nlayer(byte[] mp3)
    {
        using var file = new MpegFile(new MemoryStream(mp3));
        var rate = file.SampleRate;
        var channels = file.Channels;
        var decoded = new List<short>();
        var buffer = new float[4096];
        int read;
        while ((read = file.ReadSamples(buffer, 0, buffer.Length)) > 0)
        {
            for (var i = 0; i < read; i += channels)
            {
                decoded.Add((short)Math.Clamp(Math.Round(buffer[i] * 32767f), short.MinValue, short.MaxValue));
            }
        }

        return new Pcm([.. decoded], rate, channels);
    }

    /// <summary>The encoder delay and padding of a LAME "Info"/"Xing" tag in the first frame, or null when there is none.</summary>
    public static (int Delay, int Padding)? LameGapless(ReadOnlySpan<byte> mp3)
    {
        var info = mp3[..Math.Min(mp3.Length, 400)].IndexOf("Info"u8);
        if (info < 0)
        {
            return null;
        }

        var flags = BinaryPrimitives.ReadInt32BigEndian(mp3[(info + 4)..]);
        var offset = info + 8 + ((flags & 1) != 0 ? 4 : 0) + ((flags & 2) != 0 ? 4 : 0) + ((flags & 4) != 0 ? 100 : 0) + ((flags & 8) != 0 ? 4 : 0);
        if (!mp3[offset..].StartsWith("LAME"u8))
        {
            return null;
        }

        var packed = (mp3[offset + 21] << 16) | (mp3[offset + 22] << 8) | mp3[offset + 23];
        return (packed >> 12, packed & 0xFFF);
    }

    /// <summary>An Ogg stream's pages: header flags, granule position and the packets each holds.</summary>
    public static List<OggPage> OggPages(ReadOnlySpan<byte> ogg)
    {
        var pages = new List<OggPage>();
        var packet = new List<byte>();
        while (!ogg.IsEmpty)
        {
            Assert.True(ogg.StartsWith("OggS"u8), "every page starts with OggS");
            var segments = ogg[26];
            var table = ogg.Slice(27, segments);
            var body = ogg[(27 + segments)..];
            var packets = new List<byte[]>();
            var position = 0;
            foreach (var lace in table)
            {
                packet.AddRange(body.Slice(position, lace));
                position += lace;
                if (lace < 255)
                {
                    packets.Add([.. packet]);
                    packet.Clear();
                }
            }

            pages.Add(new OggPage(ogg[5], BinaryPrimitives.ReadInt64LittleEndian(ogg[6..]), packets));
            ogg = body[position..];
        }

        return pages;
    }

    /// <summary>Decodes Ogg/Opus with Concentus: drops pre-skip, ends at the last granule (RFC 7845 section 4).</summary>
    public static Pcm Concentus(byte[] ogg)
    {
        var pages = OggPages(ogg);
        var head = pages[0].Packets[0];
        var preSkip = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(10));
        var decoder = OpusCodecFactory.CreateDecoder(OggOpusEncoder.OpusRate, 1);
        var decoded = new List<short>();
        var frame = new short[5760];
        foreach (var packet in pages.Skip(2).SelectMany(p => p.Packets))
        {
            var samples = decoder.Decode(packet, frame, frame.Length);
            decoded.AddRange(frame.AsSpan(0, samples).ToArray());
        }

        var end = (int)Math.Min(decoded.Count, pages[^1].Granule);
        return new Pcm([.. decoded.GetRange(preSkip, end - preSkip)], OggOpusEncoder.OpusRate, 1);
    }

    private static async Task<string> TempFile(byte[] media, string extension)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mittts-{Guid.NewGuid():N}.{extension}");
        await File.WriteAllBytesAsync(path, media);
        return path;
    }
}

public sealed record OggPage(byte HeaderType, long Granule, List<byte[]> Packets);

/// <summary>Encodes through the streaming interface in uneven chunks, as a live client would receive them.</summary>
public static class ChunkedEncoding
{
    /// <summary>Chunk sizes that cross every frame size the codecs use (20 ms Opus, 576/1152 MP3).</summary>
    private static readonly int[] s_chunkSizes = [1, 37, 441, 1000, 4096, 123, 2205, 17, 8000, 999];

    public static (byte[] Bytes, List<int> ChunkStarts) Encode(IAudioEncoder encoder, short[] samples, int sampleRate, AudioEncoderOptions? options = null)
    {
        var output = new ArrayBufferWriter<byte>();
        var starts = new List<int>();
        using var stream = encoder.CreateStream(sampleRate, options);
        stream.Begin(output);
        var position = 0;
        for (var i = 0; position < samples.Length; i++)
        {
            var length = Math.Min(s_chunkSizes[i % s_chunkSizes.Length], samples.Length - position);
            starts.Add(position);
            stream.Write(samples.AsSpan(position, length), output);
            position += length;
        }

        stream.Complete(output);
        return (output.WrittenSpan.ToArray(), starts);
    }
}
