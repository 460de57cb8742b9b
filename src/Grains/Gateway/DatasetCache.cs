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

    public FederatedDataset Dataset(JobSpec spec) =>
        datasets.GetOrAdd(DatasetKey(spec), _ => new Lazy<FederatedDataset>(() => FederatedDataset.Load(spec), LazyThreadSafetyMode.PublicationOnly)).Value;

    /// <summary>A gateway's training examples as tensors (its own source, or its partition of the shared set).</summary>
    public (Tensor X, Tensor Y) GatewayData(JobSpec spec, GatewaySpec gateway, Device device) =>
        Cached($"{DatasetKey(spec)}|gw:{gateway.Id}|{gateway.Source?.Csv}|{gateway.Source?.Images}|{device}",
            () => Dataset(spec).ForGateway(gateway).ToTensors(device));

    /// <summary>The job's test set as tensors.</summary>
    public (Tensor X, Tensor Y) TestData(JobSpec spec, Device device) =>
        Cached($"{DatasetKey(spec)}|test|{device}", () => Dataset(spec).Test.ToTensors(device));

    private (Tensor, Tensor) Cached(string key, Func<(Tensor, Tensor)> load)
    {
        var lazy = tensors.GetOrAdd(key, _ => new Lazy<(Tensor, Tensor)>(() =>
        {
            var (x, y) = load();
            // Cached tensors outlive every dispose scope of the steps that read them.
            return (x.DetachFromDisposeScope(), y.DetachFromDisposeScope());
        }, LazyThreadSafetyMode.PublicationOnly));
        return lazy.Value;
    }

    private static string DatasetKey(JobSpec spec) =>
        $"{JobSpecJson.Serialize(spec with { Rounds = 0, Defaults = new(), Privacy = new() })}";
}
