using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Jobs;

/// <summary>
/// How a job with personal layers (<see cref="ModelSpec.Local"/>) measures them: each gateway keeps a seeded part of
/// its examples out of training and, once at the end of the job, releases the accuracy of its own model (the final
/// global model with its own local layers) on them, as a Gaussian-noised count charged to its ledgers.
/// </summary>
public sealed record PersonalizationSpec
{
    /// <summary>The share of each gateway's examples it holds out of training for its own evaluation.</summary>
    public double HeldOutFraction { get; init; } = 0.1;

    /// <summary>
    /// The Gaussian noise on the released count of correct held-out predictions, in examples (its sensitivity is one
    /// example). 0: nothing is released; the gateway logs its accuracy on its own silo only.
    /// </summary>
    public double AccuracyNoiseMultiplier { get; init; } = 10;

    /// <summary>The one release of the personal accuracy, planned into the gateway's noise calibration; null when nothing is released.</summary>
    public PrivacyCharge? Charge(ModelSpec model) =>
        model.Personalized && AccuracyNoiseMultiplier > 0 ? new PrivacyCharge(1.0, AccuracyNoiseMultiplier, 1, Mechanism.NoisedMetric) : null;

    public IEnumerable<string> Problems(ModelSpec model)
    {
        bool personal = model.Personalized;
        if (!personal && this != new PersonalizationSpec())
            yield return "personalization: applies to the layers listed in model.local; list them (e.g. \"local\": [\"out\"]) or leave personalization out.";
        if (HeldOutFraction is not (> 0 and <= 0.5) || double.IsNaN(HeldOutFraction))
            yield return $"personalization.held_out_fraction: {HeldOutFraction} must be in (0, 0.5], e.g. 0.1.";
        if (AccuracyNoiseMultiplier is < 0 or > JobSpecValidator.MaxNoiseMultiplier || double.IsNaN(AccuracyNoiseMultiplier))
            yield return $"personalization.accuracy_noise_multiplier: {AccuracyNoiseMultiplier} must be in [0, {JobSpecValidator.MaxNoiseMultiplier}] (0 releases nothing), e.g. 10.";
    }
}
