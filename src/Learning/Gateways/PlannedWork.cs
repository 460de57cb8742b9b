using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Gateways;

/// <summary>
/// What a gateway would run on its site's data for a whole job, in the terms a site's policy speaks: the noise
/// level, DP-SGD's noise multiplier and sample rate, the job's planned epsilon at this gateway (+infinity when no
/// epsilon is claimed), and the model's kind and size.
/// </summary>
public sealed record PlannedWork(string NoiseLevel, double NoiseMultiplier, double SampleRate, double Epsilon, double Delta, string ModelKind, long Parameters)
{
    /// <summary>The work of <paramref name="plan"/> over the job's planned participations. Runs the accountant: call it off a grain's turn.</summary>
    public static PlannedWork Of(JobSpec spec, LocalPlan plan, int[] exampleShape, int classes)
    {
        var privacy = spec.Privacy;
        double epsilon = plan.EpsilonClaimed
            ? PrivacyAccountants.Get(privacy.Accountant).Epsilon(plan.Charges(spec.PlannedParticipations()), privacy.Delta)
            : double.PositiveInfinity;
        return new PlannedWork(privacy.NoiseLevel, plan.Settings.NoiseMultiplier, plan.Settings.SampleRate, epsilon, privacy.Delta,
            spec.Model.Kind, ModelSize.Parameters(spec.Model, exampleShape, classes));
    }
}
