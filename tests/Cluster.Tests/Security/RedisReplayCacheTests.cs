using FedGrains.Grains.Hosting;
using FedGrains.Grains.Security;
using StackExchange.Redis;

namespace FedGrains.Cluster.Tests.Security;

/// <summary>
/// The replay cache of a cluster on Redis, against a real redis-server: two silos' caches share it, so a token one
/// silo accepted is refused by every other (a per-silo cache let one replay through per silo).
/// </summary>
public sealed class RedisReplayCacheTests : IAsyncLifetime
{
    private readonly int port = HostBuilderExtensions.FreeTcpPort();
    private ProcessRunner redis = null!;
    private ConnectionMultiplexer siloA = null!, siloB = null!;

    public async Task InitializeAsync()
    {
        redis = ProcessRunner.StartRedis(port);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                (siloA, siloB) = (await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}"), await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}"));
                return;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline) { await Task.Delay(200); } // redis-server still starting
        }
    }

    public async Task DisposeAsync()
    {
        await siloA.DisposeAsync();
        await siloB.DisposeAsync();
        redis.Dispose();
    }

    [Fact]
    public async Task A_nonce_one_silo_accepted_is_refused_on_every_other_until_it_is_stale()
    {
        var (a, b) = (new RedisReplayCache(siloA, "svc"), new RedisReplayCache(siloB, "svc"));

        Assert.True(await a.TryUseAsync("alice", "nonce-1", freshSeconds: 1));
        Assert.False(await b.TryUseAsync("alice", "nonce-1", 1)); // the replay, sent to another silo
        Assert.False(await a.TryUseAsync("alice", "nonce-1", 1));
        Assert.True(await b.TryUseAsync("bob", "nonce-1", 1)); // nonces are per key
        Assert.True(await b.TryUseAsync("alice", "nonce-2", 1));
        Assert.True(await new RedisReplayCache(siloA, "other-cluster").TryUseAsync("alice", "nonce-1", 1)); // clusters sharing a Redis are apart

        // Kept twice the skew (a token is good while its time is within the skew either side), then forgotten:
        // by then the token's own timestamp refuses it.
        var ttl = await siloA.GetDatabase().KeyTimeToLiveAsync("fedgrains:svc:nonce:alice:nonce-1");
        Assert.InRange(ttl!.Value.TotalSeconds, 0.5, 2);
        await Task.Delay(2500);
        Assert.True(await b.TryUseAsync("alice", "nonce-1", 1));

        // Redis gone: the call is refused (never let through unchecked) as a fault Orleans can send back and a
        // client retries, not as a Redis exception, which has no codec (its caller got a serialization error).
        redis.Dispose();
        var down = await Assert.ThrowsAsync<OrleansException>(async () => await a.TryUseAsync("alice", "nonce-3", 1));
        Assert.Contains("cannot be reached to check that this call's credential token is unused", down.Message);
    }
}
