using System.Collections.Concurrent;
using FedGrains.Learning.Data;
using FedGrains.Learning.Jobs;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Grains.Gateway;

/// <summary>
/// Per-silo cache of a job's data: the loaded and partitioned dataset, each gateway's examples and the test set as
/// tensors. Loading Fashion-MNIST takes seconds; rounds must not pay it again.
/// </summary>
public sealed class DatasetCache
{
    private readonly ConcurrentDictionary<string, Lazy<FederatedDataset>> datasets = new();
    private readonly ConcurrentDictionary<string, Lazy<(Tensor X, Tensor Y)>> tensors = new();

    /// <summary>
    /// The job's dataset, loaded once per silo: concurrent callers (every gateway's plan at submission) wait for one
    /// load instead of each computing it, which matters when features take a minute. A failed load is not cached.
    /// </summary>
    public FederatedDataset Dataset(JobSpec spec) => Once(datasets, DatasetKey(spec), () => FederatedDataset.Load(spec));

    /// <summary>A gateway's training examples as tensors (its own source, or its partition of the shared set).</summary>
    public (Tensor X, Tensor Y) GatewayData(JobSpec spec, GatewaySpec gateway, Device device) =>
        Cached($"{DatasetKey(spec)}|gw:{gateway.Id}|{gateway.Source?.Csv}|{gateway.Source?.Images}|{device}",
            () => Dataset(spec).ForGateway(gateway).ToTensors(device));

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

    private static T Once<T>(ConcurrentDictionary<string, Lazy<T>> cache, string key, Func<T> load)
    {
        var lazy = cache.GetOrAdd(key, _ => new Lazy<T>(load, LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            cache.TryRemove(new KeyValuePair<string, Lazy<T>>(key, lazy));
            throw;
        }
    }

    private static string DatasetKey(JobSpec spec) =>
        $"{JobSpecJson.Serialize(spec with { Rounds = 0, Defaults = new(), Privacy = new() })}";
}
