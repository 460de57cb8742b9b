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
public sealed record LocalPlan(TrainerSettings Settings, int StepsPerRound, long PlannedSteps, bool EpsilonClaimed, PrivacyCharge? MetricCharge = null)
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

    /// <summary>This plan with the noise multiplier a gateway calibrated when it joined, so it is not calibrated again.</summary>
    public static LocalPlan Restore(HyperParameters h, PrivacySpec privacy, int examples, int rounds, double noiseMultiplier) =>
        For(h with { NoiseMultiplier = noiseMultiplier }, privacy, examples, rounds);

    /// <summary>Plans a gateway holding <paramref name="examples"/> examples for a job of <paramref name="rounds"/> rounds.</summary>
    public static LocalPlan For(HyperParameters h, PrivacySpec privacy, int examples, int rounds)
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
        PrivacyCharge[] metrics = privacy.TrainMetrics.Mode == "noised" ? [PrivateLoss.Charge(privacy.TrainMetrics.NoiseMultiplier, rounds)] : [];
        double sigma = level == NoiseLevel.None ? 0
            : h.NoiseMultiplier ?? PrivacyAccountants.Get(privacy.Accountant).NoiseMultiplierFor(privacy.TargetEpsilon, q, planned, privacy.Delta, metrics);
        var settings = new TrainerSettings(h.LearningRate, h.ClippingNorm, sigma, q, stepsPerRound, level,
            h.Optimizer == "adam" ? LocalOptimizer.Adam : LocalOptimizer.Sgd, h.Momentum, h.ProximalMu);
        return new LocalPlan(settings, stepsPerRound, planned, level == NoiseLevel.Sample && sigma > 0,
            metrics.Length > 0 ? PrivateLoss.Charge(privacy.TrainMetrics.NoiseMultiplier, 1) : null);
    }
}
