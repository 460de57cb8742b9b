namespace FedGrains.Learning.Privacy;

/// <summary>Privacy settings: the per-gateway budget and how noise is applied.</summary>
public sealed record PrivacySpec
{
    /// <summary>Each gateway's (epsilon, delta) budget for the whole job; noise is calibrated to it unless a noise multiplier is given.</summary>
    public double TargetEpsilon { get; init; } = 3;

    public double Delta { get; init; } = 1e-5;

    /// <summary>"sample" (per-example clipping, epsilon claimed), "batch" (whole-batch clipping, no epsilon claimed) or "none".</summary>
    public string NoiseLevel { get; init; } = "sample";

    /// <summary>"prv" (numerical composition, the tighter; default) or "rdp": calibrates the noise and accounts every release.</summary>
    public string Accountant { get; init; } = PrivacyAccountants.Default;

    /// <summary>Local update-level DP: each gateway clips and noises its whole delta before sending it.</summary>
    public UpdateDpSpec LocalUpdateDp { get; init; } = new();

    /// <summary>Whether gateways release their training loss, and how (it is computed on private data).</summary>
    public TrainMetricsSpec TrainMetrics { get; init; } = new();

    /// <summary>Draw DP-SGD noise from the OS's cryptographically secure generator (slower; see SecureGaussian).</summary>
    public bool SecureNoise { get; init; }
}

/// <summary>Local update-level DP (see <see cref="Privacy.UpdateDp"/>): clip each delta to the bound, add N(0, (z bound)^2).</summary>
public sealed record UpdateDpSpec
{
    public bool Enabled { get; init; }
    /// <summary>The L2 clipping norm of each whole delta (JSON clipping_norm; stored specs of the first format call it clipping_bound).</summary>
    public double ClippingNorm { get; init; } = 1.0;
    public double NoiseMultiplier { get; init; } = 1.0;
}

/// <summary>
/// "none" (default): gateways release no training metric; "noised": each round a gateway releases its loss with DP
/// (see <see cref="Privacy.PrivateLoss"/>), accounted on its ledger and included when its noise is calibrated.
/// </summary>
public sealed record TrainMetricsSpec
{
    public string Mode { get; init; } = "none";
    public double NoiseMultiplier { get; init; } = 50;

    /// <summary>Per-example losses are clipped to [0, loss_bound] nats.</summary>
    public double LossBound { get; init; } = 5;
}
