using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Security;

/// <summary>A user's live refresh tokens, by token id, with their expiry.</summary>
[GenerateSerializer]
public sealed class RefreshTokenRecord
{
    [Id(0)] public Dictionary<string, DateTimeOffset> Live { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>See <see cref="IRefreshTokenGrain"/>. At most <see cref="MaxLivePerUser"/> live tokens per user (a new one retires the
/// oldest), expired ones pruned on every change: the state stays small however often a user logs in.</summary>
public sealed class RefreshTokenGrain(
    [PersistentState("refresh", StorageNames.Auth)] IPersistentState<RefreshTokenRecord> tokens,
    TimeProvider time)
    : Grain, IRefreshTokenGrain
{
    public const int MaxLivePerUser = 64;

    public async Task Issue(string tokenId, DateTimeOffset expires)
    {
        var live = tokens.State.Live;
        Prune(live);
        while (live.Count >= MaxLivePerUser)
        {
            live.Remove(live.MinBy(t => t.Value).Key);
        }

        live[tokenId] = expires;
        await tokens.WriteStateAsync();
    }

    public async Task<bool> Redeem(string tokenId)
    {
        var live = tokens.State.Live;
        var valid = live.TryGetValue(tokenId, out var expires) && expires > time.GetUtcNow();
        if (live.Remove(tokenId) | Prune(live))
        {
            await tokens.WriteStateAsync();
        }

        return valid;
    }

    public Task<bool> Revoke(string tokenId) => Redeem(tokenId);

    private bool Prune(Dictionary<string, DateTimeOffset> live)
    {
        var now = time.GetUtcNow();
        var pruned = false;
        foreach (var (id, expires) in live)
        {
            if (expires <= now)
            {
                live.Remove(id);
                pruned = true;
            }
        }

        return pruned;
    }
}
