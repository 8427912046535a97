using System.Globalization;
using System.Text;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace MitTts.Silo.Observability;

/// <summary>The log file (<c>MIT_TTS_LOG_FILE</c>) under the name it was given, rotated as logrotate and Python's handler do: at the size
/// limit, and when the day (UTC) changes, the file becomes <c>name.1</c> (the older ones <c>name.2</c>, …) and a new one starts, so
/// <c>tail -F</c> on the configured path follows the live log.</summary>
/// <remarks>Serilog's own file sink puts the date or a counter into the name of the file it writes (<c>app20261202.log</c>), so the path
/// the operator set never existed. Each event is flushed as it is written.</remarks>
public sealed class RotatingFileSink : ILogEventSink, IDisposable
{
    private readonly Lock _lock = new();
    private readonly string _path;
    private readonly ITextFormatter _formatter;
    private readonly long _limitBytes;
    private readonly int _kept;
    private readonly TimeProvider _time;
    private FileStream _stream;
    private StreamWriter _writer;
    private DateOnly _day;
    private bool _disposed;

    /// <param name="path">The live file; rotated ones are beside it.</param>
    /// <param name="formatter">How an event becomes its line (compact JSON or the text template).</param>
    /// <param name="limitBytes">The size at which the live file rotates.</param>
    /// <param name="kept">How many rotated files are kept besides the live one.</param>
    /// <param name="time">The clock that decides the day; the system's by default.</param>
    public RotatingFileSink(string path, ITextFormatter formatter, long limitBytes, int kept, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(formatter);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limitBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(kept);
        _path = Path.GetFullPath(path);
        _formatter = formatter;
        _limitBytes = limitBytes;
        _kept = kept;
        _time = time ?? TimeProvider.System;
        if (Path.GetDirectoryName(_path) is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
        }

        (_stream, _writer) = Open();

        // A file left from an earlier day is rotated by the first event of this one.
        _day = DateOnly.FromDateTime(_stream.Length > 0 ? File.GetLastWriteTimeUtc(_path) : _time.GetUtcNow().UtcDateTime);
    }

    public void Emit(LogEvent logEvent)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            // A file takes lines while it is under the limit, so the live file is never left empty.
            var today = DateOnly.FromDateTime(_time.GetUtcNow().UtcDateTime);
            if ((today != _day && _stream.Length > 0) || _stream.Length >= _limitBytes)
            {
                Rotate();
            }

            _day = today;
            _formatter.Format(logEvent, _writer);
            _writer.Flush();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _writer.Dispose();
        }
    }

    /// <summary>The rotated file number <paramref name="index"/> (1 is the most recent).</summary>
    public static string Rotated(string path, int index) => path + "." + index.ToString(CultureInfo.InvariantCulture);

    private void Rotate()
    {
        _writer.Dispose();
        if (_kept == 0)
        {
            File.Delete(_path);
        }
        else
        {
            File.Delete(Rotated(_path, _kept));
            for (var index = _kept - 1; index >= 1; index--)
            {
                if (File.Exists(Rotated(_path, index)))
                {
                    File.Move(Rotated(_path, index), Rotated(_path, index + 1));
                }
            }

            File.Move(_path, Rotated(_path, 1));
        }

        (_stream, _writer) = Open();
    }

    private (FileStream Stream, StreamWriter Writer) Open()
    {
        // Shared for reading (tail, the tests) and for a rotation by another tool.
        var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        return (stream, new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)));
    }
}
