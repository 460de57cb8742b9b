using FedGrains.Grains.Gateway;
using FedGrains.Grains.Hosting;
using FedGrains.Learning.Datasets;
using FedGrains.Learning.Jobs;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TorchSharp;

namespace FedGrains.Cluster.Tests.Gateway;

public sealed class DatasetCacheTests
{
    [Fact]
    public void Data_unused_for_the_idle_time_is_dropped_while_data_in_use_stays_and_held_tensors_remain_valid()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T00:00:00Z"));
        using var cache = new DatasetCache(clock, Options.Create(new FedGrainsSiloOptions { DatasetIdleMinutes = 30 }));
        var finished = new JobSpec { Seed = 1, GatewayCount = 2, Dataset = new DatasetSpec { Kind = "synthetic" } };
        var running = finished with { Seed = 2 };
        var cpu = torch.CPU;

        var (heldX, heldY) = cache.GatewayData(finished, finished.ResolveGateways()[0], cpu);
        double heldSum = heldX.sum().ToDouble();
        var runningTest = cache.TestData(running, cpu);
        Assert.Equal(4, cache.Count); // two datasets, one gateway's tensors, one test set

        // The running job keeps reading its test set every few minutes; the finished job is never read again.
        for (int minute = 0; minute < 40; minute += 5)
        {
            clock.Advance(TimeSpan.FromMinutes(5));
            Assert.Same(runningTest.X, cache.TestData(running, cpu).X);
        }

        Assert.Equal(1, cache.Count); // the timer swept everything but the running job's test set (its dataset idled too)
        // A training that still held the finished job's tensors can go on using them: they were dropped, not disposed.
        Assert.Equal(heldSum, heldX.sum().ToDouble());
        Assert.Equal(heldY.shape, cache.GatewayData(finished, finished.ResolveGateways()[0], cpu).Y.shape);
        Assert.NotSame(heldX, cache.GatewayData(finished, finished.ResolveGateways()[0], cpu).X);
    }

    [Fact]
    public void An_idle_time_out_of_range_is_refused_with_the_setting_named()
    {
        var problems = new FedGrainsSiloOptions { DatasetIdleMinutes = 0 }.Problems().ToList();

        Assert.Contains(problems, p => p.Contains("FedGrains:Silo:DatasetIdleMinutes=0 must be in 1..10080"));
    }
}
