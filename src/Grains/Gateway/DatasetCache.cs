using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using FedGrains.Grains.Hosting;
using FedGrains.Learning.Datasets;
using FedGrains.Learning.Jobs;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static TorchSharp.torch;

namespace FedGrains.Grains.Gateway;

/// <summary>
/// Per-silo cache of a job's data: the loaded and partitioned dataset, each gateway's examples and the test set as
/// tensors. Loading Fashion-MNIST takes seconds; rounds must not pay it again. An entry unused for
/// <see cref="FedGrainsSiloOptions.DatasetIdleMinutes"/> is dropped, so a long-running silo does not keep every
/// finished job's data (Fashion-MNIST partitions take ~200 MB a job, ScatterNet features ~1 GB).
/// </summary>
public sealed class DatasetCache : IDisposable
{
    private readonly ConcurrentDictionary<string, Entry<FederatedDataset>> datasets = new();
    private readonly ConcurrentDictionary<string, Entry<(Tensor X, Tensor Y)>> tensors = new();
    private readonly TimeProvider time;
    private readonly TimeSpan idle;
    private readonly ITimer sweeper;
    private readonly ILogger logger;

    public DatasetCache(TimeProvider time, IOptions<FedGrainsSiloOptions> options, ILogger<DatasetCache>? logger = null)
    {
        this.time = time;
        this.logger = logger ?? NullLogger<DatasetCache>.Instance;
        idle = TimeSpan.FromMinutes(options.Value.DatasetIdleMinutes);
        var period = TimeSpan.FromTicks(Math.Min(idle.Ticks / 4, TimeSpan.FromMinutes(1).Ticks));
        sweeper = time.CreateTimer(_ => Sweep(), null, period, period);
    }

    /// <summary>Entries in the cache now (datasets and tensor sets).</summary>
    public int Count => datasets.Count + tensors.Count;

    /// <summary>
    /// The job's dataset, loaded once per silo: concurrent callers (every gateway's plan at submission) wait for one
    /// load instead of each computing it, which matters when features take a minute. A failed load is not cached.
    /// </summary>
    public FederatedDataset Dataset(JobSpec spec) => Once(datasets, DatasetKey(spec), () => JobData.Load(spec));

    /// <summary>A gateway's training examples as tensors (its own source, or its partition of the shared set; less what a personalised job holds out).</summary>
    public (Tensor X, Tensor Y) GatewayData(JobSpec spec, GatewaySpec gateway, Device device) =>
        Cached($"{GatewayKey(spec, gateway)}|{device}", () => Dataset(spec).ForGatewayTraining(spec, gateway).ToTensors(device));

    /// <summary>The examples a personalised job's gateway holds out of training, for its own model's accuracy.</summary>
    public (Tensor X, Tensor Y) GatewayHeldOut(JobSpec spec, GatewaySpec gateway, Device device) =>
        Cached($"{GatewayKey(spec, gateway)}|held-out|{device}", () => Dataset(spec).ForGatewayHeldOut(spec, gateway).ToTensors(device));

    private static string GatewayKey(JobSpec spec, GatewaySpec gateway) =>
        $"{DatasetKey(spec)}|gw:{gateway.Id}|{gateway.Source?.Csv}|{gateway.Source?.Images}|{gateway.Source?.Folder}";

    /// <summary>The job's reported test set as tensors (without the server's validation examples, if any are held out).</summary>
    public (Tensor X, Tensor Y) TestData(JobSpec spec, Device device) =>
        Cached($"{DatasetKey(spec)}|test|{device}", () =>
        {
            var test = Dataset(spec).Test;
            int held = ValidationCount(spec, test.Count);
            return test.Subset(Enumerable.Range(held, test.Count - held).ToArray()).ToTensors(device);
        });

    /// <summary>The server's validation examples (the start of the test set) for discarding harmful updates.</summary>
    public (Tensor X, Tensor Y) ValidationData(JobSpec spec, Device device) =>
        Cached($"{DatasetKey(spec)}|validation|{device}", () =>
        {
            var test = Dataset(spec).Test;
            return test.Subset(Enumerable.Range(0, ValidationCount(spec, test.Count)).ToArray()).ToTensors(device);
        });

    private static int ValidationCount(JobSpec spec, int testCount) =>
        spec.Aggregation.DiscardHarmful.Enabled ? Math.Min(spec.Aggregation.DiscardHarmful.ValidationExamples, testCount - 1) : 0;

    private (Tensor, Tensor) Cached(string key, Func<(Tensor, Tensor)> load) => Once(tensors, key, () =>
    {
        var (x, y) = load();
        // Cached tensors outlive every dispose scope of the steps that read them.
        return (x.DetachFromDisposeScope(), y.DetachFromDisposeScope());
    });

    /// <summary>
    /// Drops every entry unused for the idle time and returns how many went. Tensors are not disposed: a training that
    /// still holds them keeps them alive, and the collection run here frees the native memory of the rest.
    /// </summary>
    public int Sweep()
    {
        long cutoff = (time.GetUtcNow() - idle).UtcTicks;
        int dropped = Drop(datasets, cutoff) + Drop(tensors, cutoff);
        if (dropped > 0)
        {
            logger.LogInformation("Dropped {Entries} cached data entries unused for {IdleMinutes} min; {Remaining} remain", dropped, idle.TotalMinutes, Count);
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        return dropped;
    }

    private static int Drop<T>(ConcurrentDictionary<string, Entry<T>> cache, long cutoff) =>
        cache.Where(e => e.Value.LastUsed < cutoff).Count(e => cache.TryRemove(e));

    private T Once<T>(ConcurrentDictionary<string, Entry<T>> cache, string key, Func<T> load)
    {
        var entry = cache.GetOrAdd(key, _ => new Entry<T>(new Lazy<T>(load, LazyThreadSafetyMode.ExecutionAndPublication)));
        entry.LastUsed = time.GetUtcNow().UtcTicks;
        try
        {
            return entry.Value.Value;
        }
        catch
        {
            cache.TryRemove(new KeyValuePair<string, Entry<T>>(key, entry));
            throw;
        }
    }

    public void Dispose() => sweeper.Dispose();

    private sealed class Entry<T>(Lazy<T> value)
    {
        private long lastUsed;

        public Lazy<T> Value { get; } = value;

        public long LastUsed
        {
            get => Interlocked.Read(ref lastUsed);
            set => Interlocked.Exchange(ref lastUsed, value);
        }
    }

    // The key is the spec without what does not change the data, computed once per spec instance (a gateway holds
    // one for its whole activation), not on every access.
    private static readonly ConditionalWeakTable<JobSpec, string> Keys = [];

    private static string DatasetKey(JobSpec spec) =>
        Keys.GetValue(spec, s => JobSpecJson.Serialize(s with { Rounds = 0, Defaults = new(), Privacy = new() }));
}
