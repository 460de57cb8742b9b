using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Learning.Gateways;

/// <summary>
/// What a gateway would run on its site's data for a whole job, in the terms a site's policy speaks: the noise
/// level, DP-SGD's noise multiplier and sample rate, the job's planned epsilon at this gateway (+infinity when no
/// epsilon is claimed), and the model's kind and size.
/// </summary>
/// <param name="Secure">Whether the gateway's deltas reach the federation only inside a secure sum (aggregation.secure).</param>
/// <param name="SecureSumEpsilon">The site-level epsilon of the job's secure sums over the whole job (distributed DP,
/// RDP at the job's delta, one sum per planned participation, each at the worst number of survivors); null when the
/// sums carry no distributed noise or there are none.</param>
public sealed record PlannedWork(string NoiseLevel, double NoiseMultiplier, double SampleRate, double Epsilon, double Delta, string ModelKind, long Parameters,
    bool Secure = false, double? SecureSumEpsilon = null)
{
    /// <summary>The work of <paramref name="plan"/> over the job's planned participations. Runs the accountant: call it off a grain's turn.</summary>
    public static PlannedWork Of(JobSpec spec, LocalPlan plan, int[] exampleShape, int classes)
    {
        var privacy = spec.Privacy;
        double epsilon = plan.EpsilonClaimed
            ? PrivacyAccountants.Get(privacy.Accountant).Epsilon(plan.JobCharges(spec.PlannedParticipations()), privacy.Delta)
            : double.PositiveInfinity;
        long parameters = ModelSize.Parameters(spec.Model, exampleShape, classes);
        return new PlannedWork(privacy.NoiseLevel, plan.Settings.NoiseMultiplier, plan.Settings.SampleRate, epsilon, privacy.Delta,
            spec.Model.KindOrDefault, parameters, spec.Aggregation.Secure.Enabled, PlannedSecureSumEpsilon(spec, parameters));
    }

    private static double? PlannedSecureSumEpsilon(JobSpec spec, long parameters) =>
        PlannedSecureSumCharge(spec, parameters) is { } charge ? RdpAccountant.Epsilon([charge], spec.Privacy.Delta) : null;

    /// <summary>
    /// The site-level charge of the job's secure sums, one per planned participation; null without distributed
    /// noise. The same plan, hence the same per-sum charge, the gateways and the federation compute each round
    /// (SecureRound), at the full cohort: a sum unmasked with fewer survivors is charged at the worst n it can hold.
    /// </summary>
    public static PrivacyCharge? PlannedSecureSumCharge(JobSpec spec, long parameters)
    {
        var secure = spec.Aggregation.Secure;
        if (!secure.Enabled || !(secure.NoiseMultiplier > 0)) return null;
        var charge = SecureRoundPlan.For(secure, spec.CohortCount(), (int)Math.Min(int.MaxValue, parameters)).Charge();
        return charge is null ? null : charge with { Steps = spec.PlannedParticipations() };
    }
}
