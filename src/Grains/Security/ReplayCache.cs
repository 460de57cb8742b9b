using System.Collections.Concurrent;

namespace FedGrains.Grains.Security;

/// <summary>Remembers the nonces of accepted client tokens while they are fresh, so each token is used once.</summary>
public interface IReplayCache
{
    /// <summary>True the first time (key, nonce) is seen within <paramref name="freshSeconds"/>; false for a replay.</summary>
    ValueTask<bool> TryUseAsync(string keyId, string nonce, int freshSeconds);
}

/// <summary>
/// The replay cache of a single silo, for the embedded default (one process) and clusters on SQLite: a grain's calls
/// are checked on the silo that hosts it, so it catches a replay unless the grain moved silo in between. Clusters on
/// Redis share one (<see cref="RedisReplayCache"/>).
/// </summary>
public sealed class ReplayCache(TimeProvider time) : IReplayCache
{
    private readonly ConcurrentDictionary<string, long> seen = new();
    private long nextSweep;

    public ValueTask<bool> TryUseAsync(string keyId, string nonce, int freshSeconds)
    {
        long now = time.GetUtcNow().ToUnixTimeSeconds();
        if (now >= Interlocked.Read(ref nextSweep))
        {
            Interlocked.Exchange(ref nextSweep, now + freshSeconds);
            foreach (var (key, expires) in seen)
                if (expires < now) seen.TryRemove(key, out _);
        }
        // A token is accepted while its timestamp is within the skew either side, so remember it twice as long.
        return ValueTask.FromResult(seen.TryAdd($"{keyId}:{nonce}", now + 2L * freshSeconds));
    }
}
