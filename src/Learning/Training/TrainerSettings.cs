namespace FedGrains.Learning.Training;

/// <summary>Local optimiser applied to the privatised gradient.</summary>
public enum LocalOptimizer
{
    /// <summary>SGD with optional momentum (DP-SGD).</summary>
    Sgd,

    /// <summary>Adam (DP-Adam): Adam's moments are post-processing of the privatised gradient, so cost no privacy.</summary>
    Adam,
}

/// <summary>Settings of one local DP-SGD run.</summary>
/// <param name="SampleRate">Poisson sampling probability q of each example per step.</param>
/// <param name="NoiseMultiplier">sigma: noise standard deviation is sigma x clipping norm; 0 trains without privacy.</param>
/// <param name="Steps">Number of steps; a local epoch is about 1/q steps.</param>
/// <param name="PerExampleNorms">How per-example gradient norms are computed; the default picks the cheaper method per layer.</param>
/// <param name="ProximalMu">FedProx's mu (Li et al. 2020): adds mu (w - w_global) to the step, keeping local models near the global one.</param>
public sealed record TrainerSettings(
    double LearningRate,
    double ClippingNorm,
    double NoiseMultiplier,
    double SampleRate,
    int Steps,
    NoiseLevel NoiseLevel = NoiseLevel.Sample,
    LocalOptimizer Optimizer = LocalOptimizer.Sgd,
    double Momentum = 0,
    double ProximalMu = 0,
    PerExampleNorms PerExampleNorms = PerExampleNorms.Cheaper)
{
    /// <summary>Throws with the name of the first setting that is out of range.</summary>
    public void Validate()
    {
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentException($"learning_rate must be > 0 (got {LearningRate}).");
        if (!(ClippingNorm > 0) || double.IsInfinity(ClippingNorm)) throw new ArgumentException($"clipping_norm must be > 0 (got {ClippingNorm}).");
        if (!(NoiseMultiplier >= 0) || double.IsInfinity(NoiseMultiplier)) throw new ArgumentException($"noise_multiplier must be >= 0 (got {NoiseMultiplier}).");
        if (!(SampleRate > 0 && SampleRate <= 1)) throw new ArgumentException($"sample rate must be in (0, 1] (got {SampleRate}); check batch_size against the gateway's example count.");
        if (Steps < 0) throw new ArgumentException($"steps must be >= 0 (got {Steps}).");
        if (Momentum is < 0 or >= 1) throw new ArgumentException($"momentum must be in [0, 1) (got {Momentum}).");
        if (!(ProximalMu >= 0) || double.IsInfinity(ProximalMu)) throw new ArgumentException($"proximal_mu must be >= 0 (got {ProximalMu}).");
    }
}
