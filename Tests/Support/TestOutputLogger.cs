using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace MitTts.Tests.Support;

/// <summary>A logger into the test's output, which the test run prints for a test that fails: what a component under test did (a
/// reader's retries and checks) is there to read when a failover test times out.</summary>
public sealed class TestOutputLogger(ITestOutputHelper output, string name) : ILogger
{
    private readonly long _start = System.Diagnostics.Stopwatch.GetTimestamp();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(_start).TotalMilliseconds;
        try
        {
            output.WriteLine($"{elapsed,9:F1} ms {logLevel} {name}: {formatter(state, exception)}{(exception is null ? "" : " " + exception.GetType().Name + ": " + exception.Message)}");
        }
        catch (InvalidOperationException)
        {
            // Logged after the test ended (a reader's watch winding down): there is no output to write to any more.
        }
    }
}
