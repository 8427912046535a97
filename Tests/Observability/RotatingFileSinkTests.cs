using Microsoft.Extensions.Time.Testing;
using MitTts.Silo.Observability;
using Serilog.Events;
using Serilog.Formatting.Display;
using Serilog.Parsing;

namespace MitTts.Tests.Observability;

/// <summary>The log file under the name the operator set (MIT_TTS_LOG_FILE), rotated to name.1, name.2, … by size and by day.</summary>
public sealed class RotatingFileSinkTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mittts-log-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Lines_go_to_the_configured_path_until_the_size_limit_then_it_moves_to_name_1_and_the_oldest_beyond_the_kept_count_go()
    {
        var path = Path.Combine(_folder, "logs", "app.log");
        using (var sink = new RotatingFileSink(path, Formatter(), limitBytes: 100, kept: 2))
        {
            // Each line is 30 bytes ("line NN" and 22 of padding and the newline): the fourth crosses 100 and rolls the file.
            for (var i = 10; i < 30; i++)
            {
                sink.Emit(Event($"line {i} " + new string('.', 21)));
            }
        }

        // 20 lines, 4 a file: app.log.2 (lines 18-21), app.log.1 (22-25), app.log (26-29); 10-17 were deleted.
        Assert.Equal(["app.log", "app.log.1", "app.log.2"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(Lines(18, 22), Numbers(path + ".2"));
        Assert.Equal(Lines(22, 26), Numbers(path + ".1"));
        Assert.Equal(Lines(26, 30), Numbers(path));
    }

    [Fact]
    public void The_first_line_of_a_new_day_starts_a_new_file_and_a_file_left_from_an_earlier_day_is_rotated_too()
    {
        var path = Path.Combine(_folder, "app.log");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 2, 23, 59, 0, TimeSpan.Zero));
        using (var sink = new RotatingFileSink(path, Formatter(), limitBytes: 1 << 20, kept: 5, time))
        {
            sink.Emit(Event("line 10"));
            sink.Emit(Event("line 11"));
            time.Advance(TimeSpan.FromMinutes(2));
            sink.Emit(Event("line 12"));
        }

        Assert.Equal(Lines(10, 12), Numbers(path + ".1"));
        Assert.Equal(Lines(12, 13), Numbers(path));

        // Restarted days later: what the file holds is from an earlier day (its last write).
        File.SetLastWriteTimeUtc(path, time.GetUtcNow().UtcDateTime);
        time.Advance(TimeSpan.FromDays(3));
        using (var sink = new RotatingFileSink(path, Formatter(), limitBytes: 1 << 20, kept: 5, time))
        {
            sink.Emit(Event("line 13"));
        }

        Assert.Equal(Lines(10, 12), Numbers(path + ".2"));
        Assert.Equal(Lines(12, 13), Numbers(path + ".1"));
        Assert.Equal(Lines(13, 14), Numbers(path));
    }

    [Fact]
    public void A_restart_on_the_same_day_appends_to_the_live_file()
    {
        var path = Path.Combine(_folder, "app.log");
        for (var i = 10; i < 13; i++)
        {
            using var sink = new RotatingFileSink(path, Formatter(), limitBytes: 1 << 20, kept: 5);
            sink.Emit(Event($"line {i}"));
        }

        Assert.Equal(Lines(10, 13), Numbers(path));
        Assert.Single(Directory.GetFiles(_folder));
    }

    private static MessageTemplateTextFormatter Formatter() => new("{Message:lj}{NewLine}", System.Globalization.CultureInfo.InvariantCulture);

    private static LogEvent Event(string text) =>
        new(DateTimeOffset.UtcNow, LogEventLevel.Information, null, new MessageTemplateParser().Parse(text), []);

    private static List<int> Lines(int from, int to) => [.. Enumerable.Range(from, to - from)];

    private static List<int> Numbers(string file) => [.. File.ReadLines(file).Select(l => int.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture))];
}
