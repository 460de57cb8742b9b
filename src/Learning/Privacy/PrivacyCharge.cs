namespace FedGrains.Learning.Privacy;

/// <summary>Which release a charge accounts for; every one of them is a (subsampled) Gaussian mechanism.</summary>
public enum Mechanism
{
    /// <summary>DP-SGD steps at a gateway: per-example clipping, Poisson sampling at q, noise sigma x clipping norm.</summary>
    DpSgd,

    /// <summary>A training metric (the loss) released with Gaussian noise (see <see cref="PrivateLoss"/>).</summary>
    NoisedMetric,

    /// <summary>A whole delta clipped and noised at the gateway (local update-level DP, see <see cref="UpdateDp"/>).</summary>
    UpdateDp,

    /// <summary>The federation's noised sum of clipped updates (central DP).</summary>
    CentralDp,

    /// <summary>
    /// A secure sum of whole deltas with distributed discrete Gaussian noise: site-level (a site's whole data), charged
    /// as the Gaussian whose RDP bounds it and composed in RDP only, apart from the example-level charges.
    /// </summary>
    SecureSum,
}

/// <summary>
/// One release of a Gaussian mechanism, as the accountant composes it: <paramref name="Steps"/> steps at sample rate
/// <paramref name="SampleRate"/> (1: no subsampling) with noise standard deviation <paramref name="NoiseMultiplier"/>
/// times the sensitivity. A noise multiplier of 0 is a release without noise: its epsilon is unbounded.
/// </summary>
public sealed record PrivacyCharge(double SampleRate, double NoiseMultiplier, long Steps, Mechanism Mechanism = Mechanism.DpSgd)
{
    /// <summary>Whether this charge bounds what is learnt about one example (every mechanism but the site-level <see cref="Mechanism.SecureSum"/>).</summary>
    public bool IsExampleLevel => Mechanism != Mechanism.SecureSum;

    /// <summary>True when this release adds noise, so an accountant can bound it.</summary>
    public bool IsNoised => NoiseMultiplier > 0;
}
