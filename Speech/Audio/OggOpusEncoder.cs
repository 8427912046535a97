using System.Buffers;
using System.Buffers.Binary;
using Concentus;
using Concentus.Enums;

namespace MitTts.Speech.Audio;

/// <summary>Opus in Ogg (RFC 7845), mono, 20 ms packets, by Concentus; input at any rate is resampled to Opus's 48 kHz.</summary>
/// <remarks>Every <see cref="IAudioEncoderStream.Write"/> ends with a page flush (pages hold at most 100 ms), so a stream
/// can be played as it arrives; pre-skip is the encoder's lookahead and the last granule trims the final packet's padding.</remarks>
public sealed class OggOpusEncoder : AudioEncoder
{
    public const int OpusRate = 48000;
    public const int FrameSamples = OpusRate / 50;
    public const int DefaultBitrateKbps = 32;
    private const int PacketsPerPage = 5;

    public override string Format => "ogg";

    public override string ContentType => "audio/ogg";

    public override string FileExtension => "ogg";

    public override IAudioEncoderStream CreateStream(int sampleRate, AudioEncoderOptions? options = null)
    {
        CheckSampleRate(sampleRate);
        return new Stream(sampleRate, (options ?? AudioEncoderOptions.Default).BitrateKbps ?? DefaultBitrateKbps);
    }

    private sealed class Stream : IAudioEncoderStream
    {
        private readonly int _sampleRate;
        private readonly IOpusEncoder _opus;
        private readonly StreamingResampler? _resampler;
        private readonly OggPageWriter _pages;
        private readonly short[] _frame = new short[FrameSamples];
        private readonly byte[] _packet = new byte[4000];
        private readonly int _preSkip;
        private int _frameFill;
        private long _inputSamples48;
        private long _encodedSamples;

        public Stream(int sampleRate, int bitrateKbps)
        {
            _sampleRate = sampleRate;
            _opus = OpusCodecFactory.CreateEncoder(OpusRate, 1, OpusApplication.OPUS_APPLICATION_AUDIO);
            _opus.Bitrate = bitrateKbps * 1000;
            _opus.SignalType = OpusSignal.OPUS_SIGNAL_VOICE;

            // The managed encoder is the slowest stage of any format (bench/README.md); speech needs no more than 5.
            _opus.Complexity = 5;
            _preSkip = _opus.Lookahead;
            _resampler = sampleRate == OpusRate ? null : new StreamingResampler(sampleRate, OpusRate);
            _pages = new OggPageWriter(serial: Random.Shared.Next());
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

            var vendor = "MitTts (Concentus)"u8;
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

        public void Dispose() => _resampler?.Dispose();

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
            var length = _opus.Encode(_frame, FrameSamples, _packet, _packet.Length);
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
