using StackExchange.Redis;

namespace FedGrains.Grains.Storage;

/// <summary>The job index as a Redis hash (job id -> state), next to the Redis grain state.</summary>
public sealed class RedisJobIndex(IConnectionMultiplexer redis, string serviceId) : IJobIndex
{
    private readonly RedisKey key = $"fedgrains:{serviceId}:jobs";

    public async Task SetStateAsync(string jobId, string state, CancellationToken cancellationToken = default) =>
        await redis.GetDatabase().HashSetAsync(key, jobId, state);

    public async Task<string?> GetStateAsync(string jobId, CancellationToken cancellationToken = default) =>
        await redis.GetDatabase().HashGetAsync(key, jobId) is { HasValue: true } state ? state.ToString() : null;

    public async Task<IReadOnlyList<(string JobId, string State)>> ListAsync(CancellationToken cancellationToken = default)
    {
        var entries = await redis.GetDatabase().HashGetAllAsync(key);
        return entries.Select(e => (e.Name.ToString(), e.Value.ToString())).OrderBy(e => e.Item1, StringComparer.Ordinal).ToArray();
    }
}
