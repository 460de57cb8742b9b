using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;

namespace FedGrains.Learning.Gateways;

/// <summary>
/// What a gateway runs each round, fixed for the whole job: its merged hyperparameters turned into DP-SGD settings,
/// with the noise multiplier calibrated by the accountant so that every round of the job together stays within the
/// privacy target.
/// </summary>
/// <param name="StepsPerRound">ceil(local_epochs / q): Poisson-sampled steps per round.</param>
/// <param name="PlannedSteps">Steps over all rounds, the horizon the noise is calibrated for.</param>
/// <param name="MetricCharge">One noised training-loss release, when the job releases metrics (null: none).</param>
/// <param name="PersonalCharge">The one release of the site's personal accuracy at the end of the job (null: none).</param>
public sealed record LocalPlan(TrainerSettings Settings, int StepsPerRound, long PlannedSteps, bool EpsilonClaimed, PrivacyCharge? MetricCharge = null,
    PrivacyCharge? PersonalCharge = null)
{
    /// <summary>
    /// What <paramref name="rounds"/> rounds of this plan release, as a ledger records them: the DP-SGD steps (with
    /// noise multiplier 0 when no epsilon is claimed, so a ledger counts the run as unbounded) and any noised metrics.
    /// </summary>
    public IReadOnlyList<PrivacyCharge> Charges(long rounds)
    {
        var steps = new PrivacyCharge(Settings.SampleRate, EpsilonClaimed ? Settings.NoiseMultiplier : 0, StepsPerRound * rounds);
        return MetricCharge is { } metric ? [steps, metric with { Steps = metric.Steps * rounds }] : [steps];
    }

    /// <summary>Everything the job plans to release over <paramref name="rounds"/> rounds: theirs, and the personal accuracy once.</summary>
    public IReadOnlyList<PrivacyCharge> JobCharges(long rounds) => PersonalCharge is { } personal ? [.. Charges(rounds), personal] : Charges(rounds);

    /// <summary>This plan with the noise multiplier a gateway calibrated when it joined, so it is not calibrated again.</summary>
    public static LocalPlan Restore(HyperParameters h, PrivacySpec privacy, int examples, int rounds, double noiseMultiplier, PrivacyCharge? personal = null) =>
        For(h with { NoiseMultiplier = noiseMultiplier }, privacy, examples, rounds, personal);

    /// <summary>Plans a gateway holding <paramref name="examples"/> examples for a job of <paramref name="rounds"/> rounds.</summary>
    /// <param name="personal">The personal accuracy's release (<see cref="Jobs.PersonalizationSpec.Charge"/>), calibrated for with the rest.</param>
    public static LocalPlan For(HyperParameters h, PrivacySpec privacy, int examples, int rounds, PrivacyCharge? personal = null)
    {
        if (!JobSpecValidator.TryParseNoiseLevel(privacy.NoiseLevel, out var level))
            throw new ArgumentException($"privacy.noise_level '{privacy.NoiseLevel}' is not known.");
        if (examples < 1) throw new ArgumentException("a gateway needs at least one example.");
        if (h.BatchSize > examples)
            throw new ArgumentException($"batch_size {h.BatchSize} is larger than the gateway's {examples} examples (the sample rate would be 1, every example in every step); use a batch_size of at most {examples}.");
        if (level != NoiseLevel.None && privacy.Delta >= 1.0 / examples)
            throw new ArgumentException($"privacy.delta {privacy.Delta} is not below 1/{examples}, one over the gateway's examples: such a delta allows releasing an example outright; use e.g. {1.0 / (10.0 * examples):G2}.");
        double q = Math.Min(1.0, (double)h.BatchSize / examples);
        int stepsPerRound = (int)Math.Ceiling(h.LocalEpochs / q);
        long planned = (long)stepsPerRound * rounds;
        // Noised training metrics spend on the same data, so the DP-SGD noise is calibrated with them included.
        PrivacyCharge[] metrics = [.. privacy.TrainMetrics.Mode == "noised" ? [PrivateLoss.Charge(privacy.TrainMetrics.NoiseMultiplier, rounds)] : Array.Empty<PrivacyCharge>(),
            .. personal is null ? [] : new[] { personal }];
        double sigma = level == NoiseLevel.None ? 0
            : h.NoiseMultiplier ?? CalibrationCache.NoiseMultiplierFor(PrivacyAccountants.Get(privacy.Accountant), privacy.TargetEpsilon, q, planned, privacy.Delta, metrics);
        var settings = new TrainerSettings(h.LearningRate, h.ClippingNorm, sigma, q, stepsPerRound, level,
            h.Optimizer == "adam" ? LocalOptimizer.Adam : LocalOptimizer.Sgd, h.Momentum, h.ProximalMu);
        return new LocalPlan(settings, stepsPerRound, planned, level == NoiseLevel.Sample && sigma > 0,
            privacy.TrainMetrics.Mode == "noised" ? PrivateLoss.Charge(privacy.TrainMetrics.NoiseMultiplier, 1) : null, personal);
    }
}
