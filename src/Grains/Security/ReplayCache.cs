using System.Collections.Concurrent;

namespace FedGrains.Grains.Security;

/// <summary>
/// The nonces of client tokens this silo accepted while they are fresh, so each token is used once. A token names
/// one grain, and a grain's calls are checked on the silo that hosts it, so a cache per silo catches a replay unless
/// the grain moved silo in between (mutual TLS keeps tokens off the wire in the first place).
/// </summary>
public sealed class ReplayCache(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, long> seen = new();
    private long nextSweep;

    /// <summary>True the first time (key, nonce) is seen within <paramref name="freshSeconds"/>; false for a replay.</summary>
    public bool TryUse(string keyId, string nonce, int freshSeconds)
    {
        long now = time.GetUtcNow().ToUnixTimeSeconds();
        if (now >= Interlocked.Read(ref nextSweep))
        {
            Interlocked.Exchange(ref nextSweep, now + freshSeconds);
            foreach (var (key, expires) in seen)
                if (expires < now) seen.TryRemove(key, out _);
        }
        // A token is accepted while its timestamp is within the skew either side, so remember it twice as long.
        return seen.TryAdd($"{keyId}:{nonce}", now + 2L * freshSeconds);
    }
}
