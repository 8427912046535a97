using Microsoft.Extensions.Configuration;

namespace MitTts.Grains.Synthesis;

/// <summary>How each synthesizer orders and bounds its queue.</summary>
public sealed class SynthesisQueueOptions
{
    public const string Section = "scheduling";

    /// <summary>A NORMAL job that has waited this long is served as HIGH, so NORMAL work is never starved for ever.</summary>
    [ConfigurationKeyName("aging_seconds")]
    public double AgingSeconds { get; set; } = 10;

    /// <summary>Jobs one priority level of one device may hold; beyond it requests get 429 <c>busy</c>.</summary>
    [ConfigurationKeyName("max_queue_per_level")]
    public int MaxQueuePerLevel { get; set; } = 500;

    /// <summary>Whether tasks are recorded in their node's ledger so a surviving silo can re-dispatch them; pointless
    /// (and two storage writes per task) when storage dies with the only process, as in the embedded default.</summary>
    [ConfigurationKeyName("failover_ledger")]
    public bool FailoverLedger { get; set; } = true;
}
