using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Federation;

/// <summary>The site-level epsilon of a job's central DP (the federation's noised sum of clipped updates).</summary>
public static class CentralDpAccounting
{
    /// <summary>
    /// Site-level epsilon of central DP after <paramref name="rounds"/> rounds (null when central DP is off): one
    /// Gaussian query per round, accounted as Poisson sampling at q = cohort / gateways (as TFF does; fixed-size
    /// cohorts are only approximated by it, and with every gateway in every round q = 1 and there is no
    /// amplification). In buffered mode the cohort is whoever answers first, not a random sample, so no amplification
    /// is claimed: q = 1.
    /// </summary>
    public static double? Epsilon(JobSpec spec, int rounds)
    {
        var dp = spec.Aggregation.CentralDp;
        if (!dp.Enabled) return null;
        int gateways = spec.ResolveGateways().Count;
        double q = spec.Aggregation.Buffered.Enabled ? 1.0 : (double)(spec.CohortSize > 0 ? spec.CohortSize : gateways) / gateways;
        return PrivacyAccountants.Get(spec.Privacy.Accountant).Epsilon([new PrivacyCharge(q, dp.NoiseMultiplier, rounds, Mechanism.CentralDp)], spec.Privacy.Delta);
    }
}
