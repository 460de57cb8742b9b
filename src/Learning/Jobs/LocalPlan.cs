using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;

namespace FedGrains.Learning.Jobs;

/// <summary>
/// What a gateway runs each round, fixed for the whole job: its merged hyperparameters turned into DP-SGD settings,
/// with the noise multiplier calibrated by the accountant so that every round of the job together stays within the
/// privacy target.
/// </summary>
/// <param name="StepsPerRound">ceil(local_epochs / q): Poisson-sampled steps per round.</param>
/// <param name="PlannedSteps">Steps over all rounds, the horizon the noise is calibrated for.</param>
public sealed record LocalPlan(TrainerSettings Settings, int StepsPerRound, long PlannedSteps, bool EpsilonClaimed)
{
    /// <summary>Plans a gateway holding <paramref name="examples"/> examples for a job of <paramref name="rounds"/> rounds.</summary>
    public static LocalPlan For(HyperParameters h, PrivacySpec privacy, int examples, int rounds)
    {
        if (examples < 1) throw new ArgumentException("a gateway needs at least one example.");
        if (!JobSpecValidator.TryParseNoiseLevel(privacy.NoiseLevel, out var level))
            throw new ArgumentException($"privacy.noise_level '{privacy.NoiseLevel}' is not known.");
        double q = Math.Min(1.0, (double)h.BatchSize / examples);
        int stepsPerRound = (int)Math.Ceiling(h.LocalEpochs / q);
        long planned = (long)stepsPerRound * rounds;
        // Noised training metrics spend on the same data, so the DP-SGD noise is calibrated with them included.
        PrivacyCharge[] metrics = privacy.TrainMetrics.Mode == "noised" ? [PrivateLoss.Charge(privacy.TrainMetrics.NoiseMultiplier, rounds)] : [];
        double sigma = level == NoiseLevel.None ? 0
            : h.NoiseMultiplier ?? Accountants.NoiseMultiplierFor(privacy.Accountant, privacy.TargetEpsilon, q, planned, privacy.Delta, metrics);
        var settings = new TrainerSettings(h.LearningRate, h.ClippingNorm, sigma, q, stepsPerRound, level,
            h.Optimizer == "adam" ? LocalOptimizer.Adam : LocalOptimizer.Sgd, h.Momentum, h.ProximalMu, privacy.SecureNoise);
        return new LocalPlan(settings, stepsPerRound, planned, level == NoiseLevel.Sample && sigma > 0);
    }
}
