namespace MitTts.Cli;

/// <summary>Where a command's audio goes: standard output, a device, or a file that only takes the audio's place once it is whole.</summary>
/// <remarks>A file is written beside its path under a hidden name and moved onto it by <see cref="Commit"/>, so a request the server
/// refuses, or one cut short, leaves an existing file as it was and no empty file behind. A write that fails (a full disk) surfaces
/// as <see cref="OutputException"/>, the user's output rather than the server's fault.</remarks>
public sealed class AudioOutput : IAsyncDisposable
{
    private readonly Stream _target;
    private readonly string? _path;
    private readonly string? _partial;
    private bool _committed;

    private AudioOutput(Stream target, string? path, string? partial)
    {
        _target = target;
        _path = path;
        _partial = partial;
        Stream = new WriteGuard(target, path ?? "standard output");
    }

    /// <summary>What the audio is written to.</summary>
    public Stream Stream { get; }

    /// <summary>Standard output for null or <c>-</c>; the device itself for a path under /dev; else, when <paramref name="whole"/>, a
    /// hidden file beside <paramref name="path"/> (beside the file a link points to), or the file itself for a stream that never ends.</summary>
    public static AudioOutput Open(string? path, bool whole)
    {
        if (path is null or "-")
        {
            return new AudioOutput(Console.OpenStandardOutput(), null, null);
        }

        try
        {
            return OpenFile(path, whole);
        }
        catch (IOException e)
        {
            throw new OutputException(path, e);
        }
    }

    private static AudioOutput OpenFile(string path, bool whole)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full) && File.ResolveLinkTarget(full, returnFinalTarget: true) is { } target)
        {
            full = target.FullName;
        }

        if (!whole || full.StartsWith("/dev/", StringComparison.Ordinal) || full.StartsWith("/proc/", StringComparison.Ordinal))
        {
            return new AudioOutput(new FileStream(full, FileMode.Create, FileAccess.Write), path, null);
        }

        var partial = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid().ToString("N")[..8]}.part");
        return new AudioOutput(new FileStream(partial, FileMode.CreateNew, FileAccess.ReadWrite), full, partial);
    }

    /// <summary>The audio is whole: a WAV file gets its real sizes and takes its path's place.</summary>
    public async Task Commit(CancellationToken cancellationToken)
    {
        try
        {
            await _target.FlushAsync(cancellationToken);
            if (_partial is not null)
            {
                Speaker.FixWavSizes(_target);
                await _target.DisposeAsync();
                File.Move(_partial, _path!, overwrite: true);
            }

            _committed = true;
        }
        catch (IOException e)
        {
            throw new OutputException(_path ?? "standard output", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _target.DisposeAsync();
        }
        catch (IOException) when (!_committed)
        {
            // The command already failed (or its write did): the error it reports says why, not this second one.
        }

        if (_partial is not null && File.Exists(_partial))
        {
            File.Delete(_partial);
        }
    }

    /// <summary>Forwards writes, naming the output when one fails.</summary>
    private sealed class WriteGuard(Stream inner, string name) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => Guard(inner.Flush);

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            try
            {
                await inner.FlushAsync(cancellationToken);
            }
            catch (IOException e)
            {
                throw new OutputException(name, e);
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Guard(() => inner.Write(buffer, offset, count));

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                await inner.WriteAsync(buffer, cancellationToken);
            }
            catch (IOException e)
            {
                throw new OutputException(name, e);
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        private void Guard(Action write)
        {
            try
            {
                write();
            }
            catch (IOException e)
            {
                throw new OutputException(name, e);
            }
        }
    }
}

/// <summary>The command's output could not be written: the user's to fix (exit code 2), not the server's.</summary>
public sealed class OutputException(string output, IOException inner) : Exception($"cannot write {output}: {inner.Message}", inner);
