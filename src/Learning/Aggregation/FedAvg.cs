using System.Numerics.Tensors;

namespace FedGrains.Learning.Aggregation;

/// <summary>One gateway's contribution to a round.</summary>
/// <param name="Delta">New local weights minus the global weights the round started from.</param>
/// <param name="Weight">Aggregation weight, e.g. the number of local examples.</param>
public sealed record WeightedDelta(float[] Delta, double Weight);

/// <summary>Federated averaging (McMahan et al. 2017): the weighted mean of the deltas; the server optimizer applies it.</summary>
public static class FedAvg
{
    private const int Block = 16 * 1024;

    /// <summary>The weighted mean of the deltas (weights need not sum to one). Accumulates in double for stability.</summary>
    public static float[] Aggregate(IReadOnlyList<WeightedDelta> updates)
    {
        if (updates.Count == 0) throw new ArgumentException("FedAvg needs at least one update.", nameof(updates));
        int length = updates[0].Delta.Length;
        double total = 0;
        foreach (var u in updates)
        {
            if (u.Delta.Length != length) throw new ArgumentException($"delta lengths differ: {u.Delta.Length} vs {length}.");
            if (!(u.Weight >= 0) || double.IsInfinity(u.Weight)) throw new ArgumentException($"aggregation weight {u.Weight} must be finite and >= 0.");
            total += u.Weight;
        }
        if (total <= 0) throw new ArgumentException("aggregation weights sum to zero.");
        // Blocked so the running sum of a block stays in cache while every update streams through it once: the
        // mean then costs about one read of the updates (vs. a read-modify-write of the whole sum per update).
        var mean = new float[length];
        var weights = updates.Select(u => (float)(u.Weight / total)).ToArray();
        for (int start = 0; start < length; start += Block)
        {
            int count = Math.Min(Block, length - start);
            var target = mean.AsSpan(start, count);
            for (int k = 0; k < updates.Count; k++)
                TensorPrimitives.MultiplyAdd(updates[k].Delta.AsSpan(start, count), weights[k], target, target);
        }
        return mean;
    }
}
