using FedGrains.Learning.Privacy;
using Orleans.Concurrency;

namespace FedGrains.Grains.Interfaces;

/// <summary>
/// The privacy ledger of one data site across every job (key: site id). Every DP-SGD run on the site's data is
/// recorded here before it trains, and the site's lifetime epsilon is the accountant's composition of all of them,
/// never a sum of per-job epsilons. When the cluster or the site configures a lifetime budget for the site, jobs and
/// rounds that would cross it are refused. A ledger altered in storage (its hash chain breaks) or unreadable answers
/// every check and spend with that reason and throws <see cref="InvalidOperationException"/> from the report.
/// </summary>
[Alias("fedgrains.site-ledger")]
public interface ISiteLedgerGrain : IGrainWithStringKey
{
    /// <summary>Whether a job planning these runs fits the site's remaining budget: null if it does, else why not, with the numbers.</summary>
    [Alias("check"), ReadOnly]
    Task<string?> CheckAsync(string jobId, IReadOnlyList<PrivacyCharge> planned);

    /// <summary>
    /// Records one run before it happens, or refuses it (the reason says why) when it would cross the lifetime
    /// budget. Recording the same (job, gateway, round, model version) twice counts once. Sealed over the caller's
    /// <paramref name="challenge"/> (a fresh random string per call), so a gateway trains only on the ledger's own answer.
    /// </summary>
    [Alias("spend")]
    Task<Sealed<string?>> SpendAsync(SiteSpend spend, string challenge);

    /// <summary>
    /// What the site recorded for one gateway of one job, in order, for that gateway to reconcile its own ledger with
    /// (the site records a spend before the gateway trains; a crash in between leaves it only here). Throws
    /// <see cref="InvalidOperationException"/> when the ledger is altered, unreadable or missing.
    /// </summary>
    [Alias("spends"), ReadOnly]
    Task<Sealed<IReadOnlyList<SiteSpend>>> GetSpendsAsync(string jobId, string gatewayId, string challenge);

    [Alias("report"), AlwaysInterleave]
    Task<SiteReport> GetReportAsync();
}

/// <summary>The sites that have a ledger (key: 0), for `fedgrains privacy report`.</summary>
[Alias("fedgrains.site-directory")]
public interface ISiteDirectoryGrain : IGrainWithIntegerKey
{
    [Alias("register")]
    Task RegisterAsync(string siteId);

    /// <summary>Whether the site has a ledger (it registers on its first spend): a listed site whose ledger is gone lost it.</summary>
    [Alias("listed"), AlwaysInterleave]
    Task<Sealed<bool>> IsListedAsync(string siteId, string challenge);

    [Alias("list"), AlwaysInterleave]
    Task<IReadOnlyList<string>> ListAsync();

    /// <summary>A silo of the site's own (FedGrains:Silo:Site) started: from now on its ledger and approvals live only there.</summary>
    [Alias("own-silo")]
    Task RegisterOwnSiloAsync(string siteId);

    /// <summary>Whether the site has ever had a silo of its own: then a silo that serves any site must not answer for it.</summary>
    [Alias("has-own-silo"), AlwaysInterleave]
    Task<Sealed<bool>> HasOwnSiloAsync(string siteId, string challenge);
}

/// <summary>One round's releases of one gateway on the site's data: its DP-SGD run first, then any noised metric.</summary>
[GenerateSerializer, Immutable, Alias("fedgrains.site-spend")]
public sealed record SiteSpend(
    [property: Id(0)] string JobId,
    [property: Id(1)] string GatewayId,
    [property: Id(2)] int Round,
    [property: Id(3)] long ModelVersion,
    [property: Id(6)] IReadOnlyList<PrivacyCharge> Charges,
    [property: Id(5)] DateTimeOffset RecordedAt)
{
    /// <summary>The first stored format's charges (field 4); moved into <see cref="Charges"/> when such a ledger is read.</summary>
    [Id(4)] public IReadOnlyList<SiteChargeV1>? FirstFormatCharges { get; init; }
}

/// <summary>The first stored format's charge record, kept only so ledgers of that format can be read.</summary>
[GenerateSerializer, Immutable, Alias("fedgrains.site-charge")]
public sealed record SiteChargeV1([property: Id(0)] double SampleRate, [property: Id(1)] double NoiseMultiplier, [property: Id(2)] long Steps)
{
    /// <summary>The first format stored a round's DP-SGD run first, then its noised metric if any.</summary>
    public static IReadOnlyList<PrivacyCharge> ToCharges(IReadOnlyList<SiteChargeV1> charges) =>
        charges.Select((c, i) => new PrivacyCharge(c.SampleRate, c.NoiseMultiplier, c.Steps, i == 0 ? Mechanism.DpSgd : Mechanism.NoisedMetric)).ToArray();
}

/// <summary>
/// What a site has spent: the lifetime composition, and per job what each gateway ran. <c>Epsilon</c> is example-level;
/// <c>SecureSumEpsilon</c> is the site-level epsilon of secure sums with distributed noise (RDP), null without any.
/// </summary>
/// <param name="LifetimeBudget">The configured lifetime epsilon, or null when the site has none (recorded, not enforced).</param>
[GenerateSerializer, Immutable, Alias("fedgrains.site-report")]
public sealed record SiteReport(
    [property: Id(0)] string SiteId,
    [property: Id(1)] double Epsilon,
    [property: Id(2)] double Delta,
    [property: Id(3)] string Accountant,
    [property: Id(4)] double? LifetimeBudget,
    [property: Id(5)] IReadOnlyList<SiteJobSpend> Jobs,
    [property: Id(6)] double? SecureSumEpsilon = null);

/// <summary>One gateway's runs in one job on the site's data, and their epsilon alone (at the site's delta).</summary>
[GenerateSerializer, Immutable, Alias("fedgrains.site-job-spend")]
public sealed record SiteJobSpend(
    [property: Id(0)] string JobId,
    [property: Id(1)] string GatewayId,
    [property: Id(2)] int Releases,
    [property: Id(3)] long Steps,
    [property: Id(4)] double SampleRate,
    [property: Id(5)] double NoiseMultiplier,
    [property: Id(6)] double Epsilon,
    [property: Id(7)] DateTimeOffset LastRecordedAt,
    [property: Id(8)] double? SecureSumEpsilon = null);
