using StackExchange.Redis;

namespace FedGrains.Grains.Security;

/// <summary>
/// The replay cache of a cluster on Redis, shared by every silo: a token replayed to another silo (the job list has
/// an activation per silo; a grain may move) is refused as well. One SET NX with an expiry per accepted call; when
/// Redis cannot be reached the call fails (it is not let through unchecked).
/// </summary>
public sealed class RedisReplayCache(IConnectionMultiplexer redis, string serviceId) : IReplayCache
{
    public async ValueTask<bool> TryUseAsync(string keyId, string nonce, int freshSeconds)
    {
        try
        {
            // Twice the skew: a token is accepted while its timestamp is within the skew either side.
            return await redis.GetDatabase().StringSetAsync($"fedgrains:{serviceId}:nonce:{keyId}:{nonce}", 1, TimeSpan.FromSeconds(2L * freshSeconds), When.NotExists);
        }
        catch (RedisException e)
        {
            // Refused as a fault of the cluster the caller can retry, in a type Orleans can send back: a Redis
            // exception has no codec, and the client would get a serialization error instead of the reason.
            throw new OrleansException($"the cluster's Redis cannot be reached to check that this call's credential token is unused ({e.Message}); try the call again.");
        }
    }
}
