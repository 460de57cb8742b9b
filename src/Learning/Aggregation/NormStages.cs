using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Aggregation;

/// <summary>L2 norms of deltas and the geometric quantile update shared by adaptive zeroing and clipping.</summary>
public static class UpdateNorms
{
    public static double L2(IReadOnlyList<float> delta)
    {
        double sum = 0;
        for (int i = 0; i < delta.Count; i++) sum += (double)delta[i] * delta[i];
        return Math.Sqrt(sum);
    }

    /// <summary>
    /// One step of geometric quantile matching (Andrew, Thakkar, McMahan, Ramaswamy 2019, Eq. 4):
    /// C <- C exp(-eta (b - gamma)), where b is the fraction of norms at or below C and gamma the target quantile.
    /// </summary>
    public static double NextQuantileEstimate(double estimate, double fractionBelow, double targetQuantile, double learningRate) =>
        estimate * Math.Exp(-learningRate * (fractionBelow - targetQuantile));
}

/// <summary>A norm bound that is fixed, or tracks a quantile of the update norms across rounds.</summary>
/// <param name="Adaptive">Track the quantile (geometric quantile matching) instead of keeping <paramref name="Initial"/>.</param>
/// <param name="Multiplier">Bound = multiplier x estimate + increment (TFF's adaptive zeroing uses 2 and 1).</param>
public sealed record NormBound(bool Adaptive, double Initial, double TargetQuantile, double LearningRate, double Multiplier = 1, double Increment = 0);

/// <summary>
/// Zeroing (drop an update whose norm exceeds the bound: a corrupted or malicious update should not count) and
/// clipping (scale an update down to the bound), each fixed or adaptive. The estimates are checkpointed with the job.
/// </summary>
/// <param name="privateCount">Under central DP: the clipped count gets N(0, sigma_b^2) noise and a fixed denominator.</param>
public sealed class NormStage(NormBound bound, bool zeroing, double? estimate = null, (double CountNoise, int Expected, INoiseSource Noise)? privateCount = null)
{
    public double Estimate { get; private set; } = estimate ?? bound.Initial;

    /// <summary>The bound this round: multiplier x estimate + increment.</summary>
    public double Bound => bound.Multiplier * Estimate + bound.Increment;

    /// <summary>Applies the stage; dropped updates are reported with the reason. Adapts the estimate after the round.</summary>
    public IReadOnlyList<(string Id, WeightedDelta Update)> Apply(IReadOnlyList<(string Id, WeightedDelta Update)> updates, ICollection<(string Id, string Reason)> dropped)
    {
        double limit = Bound;
        var kept = new List<(string, WeightedDelta)>(updates.Count);
        int below = 0;
        foreach (var (id, update) in updates)
        {
            double norm = UpdateNorms.L2(update.Delta);
            if (norm <= Estimate) below++;
            if (norm <= limit) kept.Add((id, update));
            else if (zeroing) dropped.Add((id, $"update norm {norm:G4} exceeds the zeroing bound {limit:G4}"));
            else
            {
                var factor = (float)(limit / norm);
                kept.Add((id, update with { Delta = update.Delta.Select(v => v * factor).ToArray() }));
            }
        }
        if (bound.Adaptive && updates.Count > 0)
        {
            double fraction = privateCount is var (sigma, expected, noise)
                ? Math.Clamp((below + sigma * noise.Next()) / expected, 0, 1)
                : (double)below / updates.Count;
            Estimate = UpdateNorms.NextQuantileEstimate(Estimate, fraction, bound.TargetQuantile, bound.LearningRate);
        }
        return kept;
    }
}
