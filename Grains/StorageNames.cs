namespace MitTts.Grains;

/// <summary>The grain storage providers the grains persist to.</summary>
public static class StorageNames
{
    public const string Tasks = "tasks";
    public const string Sessions = "sessions";
    public const string Ledgers = "ledgers";

    /// <summary>Refresh tokens still redeemable, per user.</summary>
    public const string Auth = "auth";
}
