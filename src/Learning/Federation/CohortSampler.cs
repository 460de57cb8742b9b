namespace FedGrains.Learning.Federation;

/// <summary>Chooses which gateways train in a round: all of them, or a seeded uniform sample without replacement.</summary>
public static class CohortSampler
{
    public static IReadOnlyList<string> Select(IReadOnlyList<string> gatewayIds, int cohortSize, long jobSeed, int round)
    {
        if (cohortSize <= 0 || cohortSize >= gatewayIds.Count) return gatewayIds;
        var shuffled = gatewayIds.ToArray();
        new Random(Seeds.Derive32(jobSeed, $"cohort/{round}")).Shuffle(shuffled);
        return shuffled.Take(cohortSize).Order(StringComparer.Ordinal).ToArray();
    }
}
