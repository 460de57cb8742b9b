using MathNet.Numerics.Distributions;

namespace FedGrains.Learning.Data;

/// <summary>Splits example indices among gateways, deterministically for a seed.</summary>
public static class Partitioner
{
    /// <summary>Shuffles and deals the examples into <paramref name="parts"/> shards whose sizes differ by at most one.</summary>
    public static int[][] Iid(int count, int parts, int seed)
    {
        CheckParts(count, parts);
        var order = Enumerable.Range(0, count).ToArray();
        new Random(seed).Shuffle(order);
        return Enumerable.Range(0, parts)
            .Select(p => order.Skip(p * count / parts).Take((p + 1) * count / parts - p * count / parts).ToArray())
            .ToArray();
    }

    /// <summary>
    /// Label skew: for each class, shares over the gateways are drawn from Dirichlet(alpha) and that class's examples
    /// are dealt accordingly (Hsu, Qi, Brown 2019). Small alpha means few classes per gateway. Draws again (up to 100
    /// times) until every gateway holds at least <paramref name="minPerPart"/> examples.
    /// </summary>
    public static int[][] Dirichlet(IReadOnlyList<int> labels, int classes, int parts, double alpha, int seed, int minPerPart = 10)
    {
        CheckParts(labels.Count, parts);
        if (!(alpha > 0) || double.IsInfinity(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "Dirichlet alpha must be > 0 (e.g. 0.5).");
        var rng = new Random(seed);
        var byClass = Enumerable.Range(0, classes).Select(c => new List<int>()).ToArray();
        for (int i = 0; i < labels.Count; i++) byClass[labels[i]].Add(i);
        for (int attempt = 0; attempt < 100; attempt++)
        {
            var shards = Enumerable.Range(0, parts).Select(_ => new List<int>()).ToArray();
            foreach (var members in byClass)
            {
                var shuffled = members.ToArray();
                rng.Shuffle(shuffled);
                var shares = new double[parts];
                for (int p = 0; p < parts; p++) shares[p] = Gamma.Sample(rng, alpha, 1.0);
                double total = shares.Sum();
                int start = 0;
                double cumulative = 0;
                for (int p = 0; p < parts; p++)
                {
                    cumulative += shares[p] / total;
                    int end = p == parts - 1 ? shuffled.Length : (int)Math.Round(cumulative * shuffled.Length);
                    shards[p].AddRange(shuffled[start..end]);
                    start = end;
                }
            }
            if (shards.All(s => s.Count >= Math.Min(minPerPart, labels.Count / parts)))
                return shards.Select(s => s.ToArray()).ToArray();
        }
        throw new ArgumentException($"Dirichlet(alpha={alpha}) could not give each of {parts} gateways {minPerPart} examples in 100 draws: raise alpha or use fewer gateways.");
    }

    private static void CheckParts(int count, int parts)
    {
        if (parts < 1) throw new ArgumentOutOfRangeException(nameof(parts), parts, "need at least one gateway.");
        if (count < parts) throw new ArgumentException($"{count} examples cannot be split among {parts} gateways.");
    }
}
