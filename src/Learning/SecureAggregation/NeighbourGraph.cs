namespace FedGrains.Learning.SecureAggregation;

/// <summary>
/// The SecAgg+ communication graph: a Harary graph H(k, n) on a random permutation of the cohort (Bell et al. 2020,
/// section 4), so each gateway masks with and shares to k neighbours; k >= n - 1 is classic SecAgg's complete graph.
/// </summary>
public static class NeighbourGraph
{
    /// <summary>Neighbours of each of the 1-based indices 1..<paramref name="count"/>.</summary>
    /// <param name="neighbours">k: even, or at least count - 1 (complete graph).</param>
    public static IReadOnlyDictionary<int, int[]> Build(int count, int neighbours, Random random)
    {
        if (count < 2) throw new ArgumentException($"secure aggregation needs at least 2 gateways, got {count}");
        if (neighbours >= count - 1)
            return Enumerable.Range(1, count).ToDictionary(i => i, i => Enumerable.Range(1, count).Where(j => j != i).ToArray());
        if (neighbours < 2 || neighbours % 2 != 0)
            throw new ArgumentException($"neighbours must be an even number of at least 2 (or at least the cohort size - 1 for classic SecAgg), got {neighbours}");
        var order = Enumerable.Range(1, count).ToArray();
        random.Shuffle(order);
        var graph = new Dictionary<int, int[]>(count);
        for (int p = 0; p < count; p++)
        {
            var around = new List<int>(neighbours);
            for (int d = 1; d <= neighbours / 2; d++)
            {
                around.Add(order[(p + d) % count]);
                around.Add(order[(p - d + count) % count]);
            }
            graph[order[p]] = around.Order().ToArray();
        }
        return graph;
    }

    /// <summary>k = 2 * ceil(log2 n) rounded to an even number, capped at n - 1: the O(log n) degree of SecAgg+.</summary>
    public static int LogarithmicDegree(int count)
    {
        int k = 2 * (int)Math.Ceiling(Math.Log2(Math.Max(2, count)));
        return k >= count - 1 ? count - 1 : k;
    }
}
