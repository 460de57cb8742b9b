using FedGrains.Learning.Aggregation;
using FsCheck.Fluent;
using FsCheck.Xunit;
using FsCheck;

namespace FedGrains.Learning.Tests.Aggregation;

public sealed class FedAvgTests
{
    [Fact]
    public void The_mean_is_weighted_by_example_counts()
    {
        var mean = FedAvg.Aggregate([new WeightedDelta([1f, 10f], 100), new WeightedDelta([4f, -2f], 300)]);

        Assert.Equal((1 * 100 + 4 * 300) / 400f, mean[0], 6);
        Assert.Equal((10 * 100 - 2 * 300) / 400f, mean[1], 6);
    }

    [Property(MaxTest = 100)]
    public Property Matches_a_naive_weighted_mean_and_ignores_input_order(PositiveInt count, int seed)
    {
        var rng = new Random(seed);
        int k = 1 + count.Get % 8, length = 1 + rng.Next(50);
        var updates = Enumerable.Range(0, k)
            .Select(_ => new WeightedDelta(Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() * 20 - 10)).ToArray(), 1 + rng.Next(1000)))
            .ToArray();

        var mean = FedAvg.Aggregate(updates);
        var shuffled = FedAvg.Aggregate(updates.Reverse().ToArray());
        double total = updates.Sum(u => u.Weight);
        bool naive = Enumerable.Range(0, length).All(i =>
            Math.Abs(mean[i] - updates.Sum(u => u.Delta[i] * u.Weight) / total) < 1e-4);
        // Float sums depend on order in the last bits; the mean must not depend on it beyond rounding.
        return (naive && mean.Zip(shuffled).All(p => Math.Abs(p.First - p.Second) <= 1e-5 * (1 + Math.Abs(p.First)))).ToProperty();
    }

    [Fact]
    public void Mismatched_or_empty_updates_are_refused()
    {
        Assert.Throws<ArgumentException>(() => FedAvg.Aggregate([]));
        Assert.Contains("lengths differ", Assert.Throws<ArgumentException>(() =>
            FedAvg.Aggregate([new WeightedDelta([1f], 1), new WeightedDelta([1f, 2f], 1)])).Message);
        Assert.Contains("weight", Assert.Throws<ArgumentException>(() =>
            FedAvg.Aggregate([new WeightedDelta([1f], double.NaN)])).Message);
    }
}
