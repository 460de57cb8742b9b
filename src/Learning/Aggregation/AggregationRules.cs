using System.Numerics.Tensors;

namespace FedGrains.Learning.Aggregation;

/// <summary>Combines the (already zeroed and clipped) deltas of a round into one.</summary>
public interface IAggregationRule
{
    /// <summary>Short name for logs and reports ("mean", "median", ...).</summary>
    string Name { get; }

    float[] Aggregate(IReadOnlyList<WeightedDelta> updates);
}

/// <summary>FedAvg's weighted mean (McMahan et al. 2017).</summary>
public sealed class WeightedMeanRule : IAggregationRule
{
    public string Name => "mean";

    public float[] Aggregate(IReadOnlyList<WeightedDelta> updates) => FedAvg.Aggregate(updates);
}

/// <summary>Coordinate-wise median (Yin et al. 2018): robust to fewer than half of the updates being arbitrary. Ignores weights.</summary>
public sealed class CoordinateMedianRule : IAggregationRule
{
    public string Name => "median";

    public float[] Aggregate(IReadOnlyList<WeightedDelta> updates)
    {
        RuleChecks.Require(updates);
        int n = updates.Count;
        // The middle rank, or the mean of the two middle ranks.
        return SortedRanks.Mean([.. updates.Select(u => u.Delta)], (n - 1) / 2, n / 2 + 1);
    }
}

/// <summary>Coordinate-wise trimmed mean (Yin et al. 2018): drops the largest and smallest beta fraction per coordinate.</summary>
public sealed class TrimmedMeanRule(double beta) : IAggregationRule
{
    public string Name => "trimmed_mean";

    public double Beta { get; } = beta is >= 0 and < 0.5 ? beta : throw new ArgumentOutOfRangeException(nameof(beta), beta, "aggregation.trim_beta must be in [0, 0.5).");

    public float[] Aggregate(IReadOnlyList<WeightedDelta> updates)
    {
        RuleChecks.Require(updates);
        int trim = (int)Math.Floor(Beta * updates.Count);
        return SortedRanks.Mean([.. updates.Select(u => u.Delta)], trim, updates.Count - trim);
    }
}

/// <summary>
/// Krum and multi-Krum (Blanchard et al. 2017): score each update by the summed squared distance to its n - f - 2
/// nearest neighbours, and average the m best-scored ones (m = 1 is Krum). Tolerates f Byzantine updates when n > 2f + 2.
/// </summary>
public sealed class KrumRule(int byzantine, int selected = 1) : IAggregationRule
{
    public string Name => selected == 1 ? "krum" : "multi_krum";

    public float[] Aggregate(IReadOnlyList<WeightedDelta> updates)
    {
        RuleChecks.Require(updates);
        int n = updates.Count;
        if (n <= 2 * byzantine + 2)
            throw new ArgumentException($"Krum with {byzantine} Byzantine gateways needs more than {2 * byzantine + 2} updates; this round has {n}.");
        var distance = SquaredDistances([.. updates.Select(u => u.Delta)]);
        int neighbours = n - byzantine - 2;
        var scores = Enumerable.Range(0, n).Select(a =>
            Enumerable.Range(0, n).Where(b => b != a).Select(b => distance[a, b]).Order().Take(neighbours).Sum()).ToArray();
        var best = Enumerable.Range(0, n).OrderBy(a => scores[a]).ThenBy(a => a).Take(Math.Min(selected, n)).ToArray();
        return FedAvg.Aggregate(best.Select(a => updates[a] with { Weight = 1 }).ToArray());
    }

    /// <summary>Block of coordinates whose slices of every update stay in cache while all pairs are measured on them.</summary>
    private const int Block = 8192;

    /// <summary>
    /// Every pair's squared L2 distance, block by block: each update is read from memory once (its block serves all n - 1
    /// pairs it is in) instead of n - 1 times, and blocks run in parallel, each summing into its own matrix.
    /// </summary>
    private static double[,] SquaredDistances(IReadOnlyList<float[]> x)
    {
        int n = x.Count, length = x[0].Length;
        var distance = new double[n, n];
        var gate = new object();
        Parallel.For(0, (length + Block - 1) / Block, () => new double[n, n], (block, _, local) =>
        {
            int start = block * Block, count = Math.Min(Block, length - start);
            for (int a = 0; a < n; a++)
                for (int b = a + 1; b < n; b++)
                {
                    double d = TensorPrimitives.Distance<float>(x[a].AsSpan(start, count), x[b].AsSpan(start, count));
                    local[a, b] += d * d;
                }
            return local;
        }, local =>
        {
            lock (gate)
                for (int a = 0; a < n; a++)
                    for (int b = a + 1; b < n; b++)
                        distance[a, b] = distance[b, a] = distance[a, b] + local[a, b];
        });
        return distance;
    }
}

internal static class RuleChecks
{
    public static void Require(IReadOnlyList<WeightedDelta> updates)
    {
        if (updates.Count == 0) throw new ArgumentException("an aggregation rule needs at least one update.");
        int length = updates[0].Delta.Length;
        if (updates.Any(u => u.Delta.Length != length)) throw new ArgumentException("delta lengths differ.");
    }
}
