namespace FedGrains.Learning.Aggregation;

/// <summary>Drops updates that, applied alone, raise the server's validation loss by more than a tolerance.</summary>
public static class HarmfulUpdateFilter
{
    /// <param name="validationLoss">The server's validation loss of a set of weights.</param>
    public static IReadOnlyList<GatewayDelta> Apply(IReadOnlyList<float> weights, IReadOnlyList<GatewayDelta> updates, double tolerance,
        Func<float[], double> validationLoss, ICollection<(string GatewayId, string Reason)> dropped)
    {
        double baseline = validationLoss(weights.ToArray());
        var kept = new List<GatewayDelta>(updates.Count);
        foreach (var u in updates)
        {
            var candidate = new float[weights.Count];
            for (int i = 0; i < candidate.Length; i++) candidate[i] = weights[i] + u.Delta[i];
            double loss = validationLoss(candidate);
            if (loss > baseline + tolerance) dropped.Add((u.GatewayId, $"harmful: validation loss {baseline:F4} -> {loss:F4} (tolerance {tolerance})"));
            else kept.Add(u);
        }
        return kept;
    }
}
