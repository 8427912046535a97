using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;

namespace MitTts.Tests.Grains;

public sealed class PriorityJobQueueTests
{
    private static SynthesisJob Job(string id, Priority priority) =>
        new(id, new SynthesisRequest("text", "es-female-1", AudioFormat.Wav, priority, null, 1, 1), DateTimeOffset.UtcNow);

    [Fact]
    public void Critical_then_high_then_normal_and_fifo_within_a_level()
    {
        var queue = new PriorityJobQueue();
        queue.Enqueue(Job("n1", Priority.Normal));
        queue.Enqueue(Job("h1", Priority.High));
        queue.Enqueue(Job("n2", Priority.Normal));
        queue.Enqueue(Job("c1", Priority.Critical));
        queue.Enqueue(Job("h2", Priority.High));

        var order = new List<string>();
        while (queue.TryDequeue(out var job))
        {
            order.Add(job.TaskId);
        }

        Assert.Equal(["c1", "h1", "h2", "n1", "n2"], order);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void Jobs_ahead_are_listed_in_service_order_and_removal_works()
    {
        var queue = new PriorityJobQueue();
        queue.Enqueue(Job("n1", Priority.Normal));
        queue.Enqueue(Job("h1", Priority.High));
        queue.Enqueue(Job("n2", Priority.Normal));

        Assert.Equal(["h1", "n1", "n2"], queue.UpTo("n2").Select(j => j.TaskId));
        Assert.True(queue.Remove("n1"));
        Assert.False(queue.Remove("n1"));
        Assert.Equal(["h1", "n2"], queue.UpTo("n2").Select(j => j.TaskId));
        Assert.Empty(queue.UpTo("missing"));
        Assert.Equal(2, queue.Count);
    }
}
