using System.Buffers;
using System.Buffers.Binary;

namespace MitTts.Speech.Audio;

/// <summary>Opus in Ogg (RFC 7845), mono, 20 ms packets, by libopus; input at any rate is resampled to Opus's 48 kHz.</summary>
/// <remarks>Every <see cref="IAudioEncoderStream.Write"/> ends with a page flush (pages hold at most 100 ms), so a stream
/// can be played as it arrives; pre-skip is the encoder's lookahead and the last granule trims the final packet's padding.
/// The Ogg serial number comes from <see cref="AudioEncoderOptions.StreamId"/> when given, so encoding the same task again
/// (after a failover) yields the same bytes.</remarks>
public sealed class OggOpusEncoder : AudioEncoder
{
    public const int OpusRate = 48000;
    public const int FrameSamples = OpusRate / 50;
    public const int DefaultBitrateKbps = 32;

    /// <summary>The same effort as the managed encoder had; 10 costs 1.6x the CPU (bench/results/opus-encoder.md) for little in speech.</summary>
    public const int DefaultComplexity = 5;
    private const int PacketsPerPage = 5;

    // Opus itself takes 6 to 510 kbps; mono speech gains nothing above 256.
    private static readonly AudioBitrates s_bitrates = AudioBitrates.Range(6, 256, DefaultBitrateKbps);

    private readonly Func<int, IOpusFrameEncoder> _createCodec;

    /// <summary>Opus by libopus, tuned for <paramref name="application"/> at <paramref name="complexity"/> (0-10).</summary>
    public OggOpusEncoder(OpusApplication application = OpusApplication.Audio, int complexity = DefaultComplexity)
        : this(bitrateKbps => new LibOpusFrameEncoder(bitrateKbps, complexity, application))
    {
        ArgumentOutOfRangeException.ThrowIfNegative(complexity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(complexity, 10);
    }

    /// <summary>The same Ogg stream over another codec (the benchmark's managed baseline).</summary>
    internal OggOpusEncoder(Func<int, IOpusFrameEncoder> createCodec) => _createCodec = createCodec;

    public override string Format => "ogg";

    public override string ContentType => "audio/ogg";

    public override string FileExtension => "ogg";

    public override string Description => "Opus in an Ogg stream";

    public override string Container => "ogg";

    public override AudioBitrates Bitrates => s_bitrates;

    public override IAudioEncoderStream CreateStream(int sampleRate, AudioEncoderOptions? options = null)
    {
        CheckSampleRate(sampleRate);
        options ??= AudioEncoderOptions.Default;
        var serial = options.StreamId is { } id ? StableSerial(id) : Random.Shared.Next();
        return new Stream(sampleRate, _createCodec(options.BitrateKbps ?? DefaultBitrateKbps), serial);
    }

    /// <summary>FNV-1a of the id: string.GetHashCode differs between processes, and a failover replays on another one.</summary>
    internal static int StableSerial(string streamId)
    {
        var hash = 2166136261u;
        foreach (var c in streamId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return unchecked((int)hash);
    }

    private sealed class Stream : IAudioEncoderStream
    {
        private readonly int _sampleRate;
        private readonly IOpusFrameEncoder _opus;
        private readonly StreamingResampler? _resampler;
        private readonly OggPageWriter _pages;
        private readonly short[] _frame = new short[FrameSamples];
        private readonly byte[] _packet = new byte[4000];
        private readonly int _preSkip;
        private int _frameFill;
        private long _inputSamples48;
        private long _encodedSamples;

        public Stream(int sampleRate, IOpusFrameEncoder codec, int serial)
        {
            _sampleRate = sampleRate;
            _opus = codec;
            _preSkip = _opus.Lookahead;
            _resampler = sampleRate == OpusRate ? null : new StreamingResampler(sampleRate, OpusRate);
            _pages = new OggPageWriter(serial);
        }

        public int SampleRate => _sampleRate;

        public void Begin(IBufferWriter<byte> output)
        {
            Span<byte> head = stackalloc byte[19];
            "OpusHead"u8.CopyTo(head);
            head[8] = 1;
            head[9] = 1;
            BinaryPrimitives.WriteUInt16LittleEndian(head[10..], (ushort)_preSkip);
            BinaryPrimitives.WriteUInt32LittleEndian(head[12..], (uint)_sampleRate);
            BinaryPrimitives.WriteInt16LittleEndian(head[16..], 0);
            head[18] = 0;
            _pages.AddPacket(head);
            _pages.Flush(output, granule: 0, beginOfStream: true);

            Span<byte> vendor = stackalloc byte[64];
            vendor = vendor[..System.Text.Encoding.ASCII.GetBytes($"MitTts ({_opus.Vendor})", vendor)];
            Span<byte> tags = stackalloc byte[8 + 4 + vendor.Length + 4];
            "OpusTags"u8.CopyTo(tags);
            BinaryPrimitives.WriteInt32LittleEndian(tags[8..], vendor.Length);
            vendor.CopyTo(tags[12..]);
            BinaryPrimitives.WriteInt32LittleEndian(tags[(12 + vendor.Length)..], 0);
            _pages.AddPacket(tags);
            _pages.Flush(output, granule: 0);
        }

        public void Write(ReadOnlySpan<short> samples, IBufferWriter<byte> output)
        {
            Feed(_resampler is null ? samples : _resampler.Process(samples), output);
            if (_pages.PacketCount > 0)
            {
                _pages.Flush(output, _encodedSamples);
            }
        }

        public void Complete(IBufferWriter<byte> output)
        {
            if (_resampler is not null)
            {
                Feed(_resampler.Flush(), output);
            }

            // Encode until the decoded stream covers pre-skip plus every input sample, padding with silence.
            var end = _preSkip + _inputSamples48;
            while (_encodedSamples < end || _frameFill > 0)
            {
                _frame.AsSpan(_frameFill).Clear();
                _frameFill = FrameSamples;
                EncodeFrame(output);
            }

            _pages.Flush(output, end, endOfStream: true);
        }

        public void Dispose()
        {
            _resampler?.Dispose();
            _opus.Dispose();
        }

        private void Feed(ReadOnlySpan<short> samples48, IBufferWriter<byte> output)
        {
            _inputSamples48 += samples48.Length;
            while (!samples48.IsEmpty)
            {
                var take = Math.Min(FrameSamples - _frameFill, samples48.Length);
                samples48[..take].CopyTo(_frame.AsSpan(_frameFill));
                _frameFill += take;
                samples48 = samples48[take..];
                if (_frameFill == FrameSamples)
                {
                    EncodeFrame(output);
                }
            }
        }

        private void EncodeFrame(IBufferWriter<byte> output)
        {
            var length = _opus.Encode(_frame, _packet);
            _frameFill = 0;
            _encodedSamples += FrameSamples;
            _pages.AddPacket(_packet.AsSpan(0, length));
            if (_pages.PacketCount >= PacketsPerPage)
            {
                _pages.Flush(output, _encodedSamples);
            }
        }
    }
}
