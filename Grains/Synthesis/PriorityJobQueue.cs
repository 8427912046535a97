using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>Three FIFO queues, served CRITICAL first, then HIGH, then NORMAL.</summary>
public sealed class PriorityJobQueue
{
    // Indexed by Priority, highest served first.
    private readonly LinkedList<SynthesisJob>[] _levels = [new(), new(), new()];

    public int Count { get; private set; }

    public void Enqueue(SynthesisJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        _levels[(int)job.Request.Priority].AddLast(job);
        Count++;
    }

    public bool TryDequeue(out SynthesisJob job)
    {
        for (var level = _levels.Length - 1; level >= 0; level--)
        {
            if (_levels[level].First is { } first)
            {
                _levels[level].RemoveFirst();
                Count--;
                job = first.Value;
                return true;
            }
        }

        job = null!;
        return false;
    }

    public bool Remove(string taskId)
    {
        foreach (var level in _levels)
        {
            for (var node = level.First; node is not null; node = node.Next)
            {
                if (node.Value.TaskId == taskId)
                {
                    level.Remove(node);
                    Count--;
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>The jobs that will run before <paramref name="taskId"/> and the job itself, in service order; empty when absent.</summary>
    public IReadOnlyList<SynthesisJob> UpTo(string taskId)
    {
        var ahead = new List<SynthesisJob>();
        for (var level = _levels.Length - 1; level >= 0; level--)
        {
            foreach (var job in _levels[level])
            {
                ahead.Add(job);
                if (job.TaskId == taskId)
                {
                    return ahead;
                }
            }
        }

        return [];
    }
}
