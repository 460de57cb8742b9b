using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Privacy;

namespace FedGrains.Grains.Gateway;

/// <summary>A gateway's durable privacy ledger: every release it made, and the mechanism that accounts for them.</summary>
[GenerateSerializer, Alias("fedgrains.gateway-state")]
public sealed class GatewayState
{
    /// <summary>The job's accountant ("prv" or "rdp"). The entries are mechanism records (sample rate, sigma, steps), so any accountant can read them.</summary>
    [Id(0)] public string Accountant { get; set; } = Accountants.Default;

    [Id(1)] public List<LedgerEntry> Entries { get; set; } = [];

    [Id(2)] public double Delta { get; set; }

    [Id(3)] public double TargetEpsilon { get; set; }

    [Id(4)] public string NoiseLevel { get; set; } = "sample";

    /// <summary>
    /// The last update released. A retry of the same round on the same model version (the federation crashed before
    /// recording it) gets this same update back: re-sending a released output costs no privacy, training again would.
    /// </summary>
    [Id(5)] public GatewayUpdate? LastRelease { get; set; }

    [Id(6)] public long LastReleaseModelVersion { get; set; } = -1;

    /// <summary>z of local update-level DP in this job (0: off), for the site-level epsilon of the released updates.</summary>
    [Id(7)] public double UpdateNoiseMultiplier { get; set; }
}

/// <summary>
/// One round's releases: <paramref name="Steps"/> DP-SGD steps at (sample rate, noise multiplier), and when training
/// metrics are noised, one loss release with effective noise multiplier <paramref name="MetricNoiseMultiplier"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("fedgrains.ledger-entry")]
public sealed record LedgerEntry(
    [property: Id(0)] int Round,
    [property: Id(1)] double SampleRate,
    [property: Id(2)] double NoiseMultiplier,
    [property: Id(3)] long Steps,
    [property: Id(4)] DateTimeOffset RecordedAt,
    [property: Id(5)] double MetricNoiseMultiplier = 0)
{
    public IEnumerable<PrivacyCharge> Charges() => MetricNoiseMultiplier > 0
        ? [new PrivacyCharge(SampleRate, NoiseMultiplier, Steps), new PrivacyCharge(1.0, MetricNoiseMultiplier, 1)]
        : [new PrivacyCharge(SampleRate, NoiseMultiplier, Steps)];
}
