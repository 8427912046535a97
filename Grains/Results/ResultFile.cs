using System.Buffers.Binary;
using System.Text;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Results;

/// <summary>One result's audio on disk: a small header saying what the audio is, then its bytes.</summary>
/// <remarks>Layout, little-endian: <c>MTTSAUD1</c>, u16 length + UTF-8 content type, u16 length + UTF-8 file extension, i32 sample
/// rate, f64 duration in seconds, u8 cache hit, i64 data length, then the data. Only the process that wrote a file reads it, so the
/// format has no versions to migrate; a file that does not parse is audio that is gone.</remarks>
internal static class ResultFile
{
    /// <summary>The extension of every file the store writes; start-up deletes files with it (and their temporary names) only.</summary>
    public const string Extension = ".mtts";

    /// <summary>A file being written has this suffix until it is complete and renamed, so a reader never sees half a file.</summary>
    public const string TemporarySuffix = ".tmp";

    /// <summary>The header is read in one go with the first bytes of data; no real content type or extension comes near it.</summary>
    private const int MaxHeaderBytes = 1024;

    private const int FixedHeaderBytes = 8 + 2 + 2 + 4 + 8 + 1 + 8;

    private static ReadOnlySpan<byte> Magic => "MTTSAUD1"u8;

    /// <summary>Whether the audio's header fits the format (its content type and extension are not absurdly long).</summary>
    public static bool CanHold(AudioResult audio) => HeaderLength(audio) <= MaxHeaderBytes;

    /// <summary>The size of the audio's file, header included: what it costs of the disk budget.</summary>
    public static long Length(AudioResult audio) => HeaderLength(audio) + (long)audio.Data.Length;

    /// <summary>Writes the audio under a temporary name and renames it into place; false (and nothing left behind) when the disk
    /// refuses.</summary>
    public static async Task<bool> TryWriteAsync(string path, AudioResult audio)
    {
        var temporary = path + TemporarySuffix;
        try
        {
            // Cheap next to the write, and a temporary-files cleaner may have taken the folder since start-up.
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var options = new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                Share = FileShare.None,
                Options = FileOptions.Asynchronous,
                BufferSize = 0,
                PreallocationSize = Length(audio),
            };
            var stream = new FileStream(temporary, options);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(EncodeHeader(audio)).ConfigureAwait(false);
                await stream.WriteAsync(audio.Data).ConfigureAwait(false);
            }

            File.Move(temporary, path, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            return false;
        }
    }

    /// <summary>The audio in the file, or null when the file is missing, unreadable or not a whole result file.</summary>
    public static async Task<AudioResult?> TryReadAsync(string path)
    {
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                // An eviction may delete the file while it is read; the reader still gets the bytes it opened.
                Share = FileShare.Read | FileShare.Delete,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
                BufferSize = 0,
            };
            var stream = new FileStream(path, options);
            await using (stream.ConfigureAwait(false))
            {
                var length = stream.Length;
                var prefix = new byte[(int)Math.Min(length, MaxHeaderBytes)];
                await stream.ReadExactlyAsync(prefix).ConfigureAwait(false);
                if (!TryParseHeader(prefix, out var header, out var headerLength) || header.DataLength != length - headerLength)
                {
                    return null;
                }

                var data = new byte[(int)header.DataLength];
                var alreadyRead = prefix.AsSpan(headerLength);
                alreadyRead.CopyTo(data);
                await stream.ReadExactlyAsync(data.AsMemory(alreadyRead.Length)).ConfigureAwait(false);
                return new AudioResult(data, header.ContentType, header.FileExtension, header.SampleRate, header.DurationSeconds, header.CacheHit);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Deletes the file if it is there; a file that cannot be deleted now is left for the next start-up.</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Whether the store wrote the file (finished or not), judged by its name.</summary>
    public static bool IsResultFile(string path) =>
        path.EndsWith(Extension, StringComparison.Ordinal) || path.EndsWith(Extension + TemporarySuffix, StringComparison.Ordinal);

    private static int HeaderLength(AudioResult audio) =>
        FixedHeaderBytes + Encoding.UTF8.GetByteCount(audio.ContentType) + Encoding.UTF8.GetByteCount(audio.FileExtension);

    private static byte[] EncodeHeader(AudioResult audio)
    {
        var header = new byte[HeaderLength(audio)];
        var span = header.AsSpan();
        Magic.CopyTo(span);
        var at = Magic.Length;
        at += WriteString(span[at..], audio.ContentType);
        at += WriteString(span[at..], audio.FileExtension);
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], audio.SampleRate);
        BinaryPrimitives.WriteDoubleLittleEndian(span[(at + 4)..], audio.DurationSeconds);
        span[at + 12] = audio.CacheHit ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt64LittleEndian(span[(at + 13)..], audio.Data.Length);
        return header;
    }

    private static int WriteString(Span<byte> span, string value)
    {
        var length = Encoding.UTF8.GetBytes(value, span[2..]);
        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)length);
        return 2 + length;
    }

    private static bool TryParseHeader(ReadOnlySpan<byte> span, out ParsedHeader header, out int headerLength)
    {
        header = default;
        headerLength = 0;
        if (span.Length < FixedHeaderBytes || !span.StartsWith(Magic))
        {
            return false;
        }

        var at = Magic.Length;
        if (!TryReadString(span, ref at, out var contentType) || !TryReadString(span, ref at, out var fileExtension) || span.Length - at < 21)
        {
            return false;
        }

        var sampleRate = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        var duration = BinaryPrimitives.ReadDoubleLittleEndian(span[(at + 4)..]);
        var cacheHit = span[at + 12] switch { 0 => false, 1 => true, _ => (bool?)null };
        var dataLength = BinaryPrimitives.ReadInt64LittleEndian(span[(at + 13)..]);
        if (cacheHit is null || dataLength < 0 || dataLength > Array.MaxLength)
        {
            return false;
        }

        header = new ParsedHeader(contentType, fileExtension, sampleRate, duration, cacheHit.Value, dataLength);
        headerLength = at + 21;
        return true;
    }

    private static bool TryReadString(ReadOnlySpan<byte> span, ref int at, out string value)
    {
        value = string.Empty;
        if (span.Length - at < 2)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16LittleEndian(span[at..]);
        if (span.Length - at - 2 < length)
        {
            return false;
        }

        value = Encoding.UTF8.GetString(span.Slice(at + 2, length));
        at += 2 + length;
        return true;
    }

    private readonly record struct ParsedHeader(string ContentType, string FileExtension, int SampleRate, double DurationSeconds, bool CacheHit, long DataLength);
}
