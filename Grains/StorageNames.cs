namespace MitTts.Grains;

/// <summary>The grain storage providers the grains persist to.</summary>
public static class StorageNames
{
    public const string Tasks = "tasks";
    public const string Sessions = "sessions";
    public const string Ledgers = "ledgers";

    /// <summary>The live settings changed through <c>PUT /api/v1/config</c>.</summary>
    public const string Config = "config";

    /// <summary>Refresh tokens still redeemable, per user.</summary>
    public const string Auth = "auth";
}
