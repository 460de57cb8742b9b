using BenchmarkDotNet.Attributes;
using FedGrains.Learning.Aggregation;

namespace FedGrains.Bench;

/// <summary>
/// Aggregating 10 deltas of 10M parameters per rule, against a plain copy of the same bytes (the memcpy baseline):
/// the Ratio column says how far each rule is from moving the data once.
/// </summary>
[MemoryDiagnoser(false)]
public class AggregationBenchmark
{
    public const int Parameters = 10_000_000;
    public const int Gateways = 10;
    private WeightedDelta[] updates = null!;
    private float[] copyTarget = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        updates = Enumerable.Range(0, Gateways)
            .Select(k => new WeightedDelta(Enumerable.Range(0, Parameters).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray(), 100 + k))
            .ToArray();
        copyTarget = new float[Parameters];
    }

    [Benchmark(Baseline = true, Description = "memcpy of the same bytes")]
    public float Copy()
    {
        foreach (var u in updates) u.Delta.AsSpan().CopyTo(copyTarget);
        return copyTarget[0];
    }

    [Benchmark(Description = "mean")]
    public float Mean() => new WeightedMeanRule().Aggregate(updates)[0];

    [Benchmark(Description = "median")]
    public float Median() => new CoordinateMedianRule().Aggregate(updates)[0];

    [Benchmark(Description = "trimmed_mean")]
    public float Trimmed() => new TrimmedMeanRule(0.1).Aggregate(updates)[0];

    [Benchmark(Description = "krum")]
    public float Krum() => new KrumRule(2).Aggregate(updates)[0];
}
