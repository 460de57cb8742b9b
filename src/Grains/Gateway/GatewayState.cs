using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;

namespace FedGrains.Grains.Gateway;

/// <summary>
/// A gateway's durable state: the job it joined and its plan, and its privacy ledger (every release it made and
/// the accountant that composes them). Field ids are never reused; <see cref="SchemaVersion"/> says which format
/// wrote the record, and <see cref="Upgrade"/> brings an older one to this format when it is read.
/// </summary>
[GenerateSerializer, Alias("fedgrains.gateway-state")]
public sealed class GatewayState
{
    /// <summary>1: the first format (the whole spec rode in every round; releases as <see cref="LedgerEntryV1"/>). 2: joined once, releases as charges.</summary>
    public const int CurrentSchema = 2;

    /// <summary>The job's accountant ("prv" or "rdp"), fixed when the gateway joins and checked against the stored spec on load.</summary>
    [Id(0)] public string Accountant { get; set; } = PrivacyAccountants.Default;

    /// <summary>First format only: one entry per round. Moved into <see cref="Releases"/> on read.</summary>
    [Id(1)] public List<LedgerEntryV1> Entries { get; set; } = [];

    [Id(2)] public double Delta { get; set; }

    [Id(3)] public double TargetEpsilon { get; set; }

    [Id(4)] public string NoiseLevel { get; set; } = "sample";

    /// <summary>
    /// The last update released. A retry of the same request on the same model version (the federation crashed before
    /// recording it) gets this same update back: re-sending a released output costs no privacy, training again would.
    /// </summary>
    [Id(5)] public GatewayUpdate? LastRelease { get; set; }

    [Id(6)] public long LastReleaseModelVersion { get; set; } = -1;

    /// <summary>z of local update-level DP in this job (0: off), for the site-level epsilon of the released updates.</summary>
    [Id(7)] public double UpdateNoiseMultiplier { get; set; }

    /// <summary>0 for a record written before schema versions existed (the first format).</summary>
    [Id(8)] public int SchemaVersion { get; set; }

    /// <summary>The job as the gateway joined it (null: not joined, or a first-format record).</summary>
    [Id(9)] public JobSpec? Spec { get; set; }

    /// <summary>The plan fixed at join: examples and the calibrated noise multiplier (the rest follows from the spec).</summary>
    [Id(10)] public GatewayPlanRecord? Plan { get; set; }

    /// <summary>Every release, one record per request, each with the charges it cost.</summary>
    [Id(11)] public List<GatewayRelease> Releases { get; set; } = [];

    /// <summary>
    /// This site's own local layers (model.local) as its last release left them: trained here, never sent, the start
    /// of its next round. Written with the release that trained them.
    /// </summary>
    [Id(12)] public float[]? LocalLayers { get; set; }

    /// <summary>The personal accuracy this gateway released (once per job; asked again, it answers this).</summary>
    [Id(13)] public PersonalEvaluation? Personal { get; set; }

    /// <summary>Brings a record of an older format to this one (in memory; it is written with the next release).</summary>
    public void Upgrade()
    {
        if (SchemaVersion >= CurrentSchema) return;
        Releases.AddRange(Entries.Select(e => new GatewayRelease(e.Round, -1, e.Charges(), e.RecordedAt)));
        Entries = [];
        SchemaVersion = CurrentSchema;
    }

    /// <summary>Every charge of every release, in order.</summary>
    public IEnumerable<PrivacyCharge> Charges() => Releases.SelectMany(r => r.Charges);
}

/// <summary>What a gateway fixed when it joined a job: how many examples it holds and the noise multiplier it calibrated.</summary>
[GenerateSerializer, Immutable, Alias("fedgrains.gateway-plan")]
public sealed record GatewayPlanRecord([property: Id(0)] int Examples, [property: Id(1)] double NoiseMultiplier);

/// <summary>
/// One release: the request it answered, the model version it trained from, and what it cost.
/// <paramref name="Unreleased"/>: charged on both ledgers but no update left the gateway (its site recorded the spend
/// and the gateway did not finish; see <see cref="ReleaseReconciler"/>); a retry of the same request trains under it.
/// </summary>
[GenerateSerializer, Immutable, Alias("fedgrains.gateway-release")]
public sealed record GatewayRelease(
    [property: Id(0)] int Sequence,
    [property: Id(1)] long ModelVersion,
    [property: Id(2)] IReadOnlyList<PrivacyCharge> Charges,
    [property: Id(3)] DateTimeOffset RecordedAt,
    [property: Id(4)] bool Unreleased = false);

/// <summary>
/// The first format's ledger entry, kept only so stored records of that format can be read: one round's DP-SGD
/// steps and, when metrics were noised, one loss release.
/// </summary>
[GenerateSerializer, Immutable, Alias("fedgrains.ledger-entry")]
public sealed record LedgerEntryV1(
    [property: Id(0)] int Round,
    [property: Id(1)] double SampleRate,
    [property: Id(2)] double NoiseMultiplier,
    [property: Id(3)] long Steps,
    [property: Id(4)] DateTimeOffset RecordedAt,
    [property: Id(5)] double MetricNoiseMultiplier = 0)
{
    public IReadOnlyList<PrivacyCharge> Charges() => MetricNoiseMultiplier > 0
        ? [new PrivacyCharge(SampleRate, NoiseMultiplier, Steps), new PrivacyCharge(1.0, MetricNoiseMultiplier, 1, Mechanism.NoisedMetric)]
        : [new PrivacyCharge(SampleRate, NoiseMultiplier, Steps)];
}
