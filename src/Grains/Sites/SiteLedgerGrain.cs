using System.Globalization;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Placement;
using FedGrains.Grains.Security;
using FedGrains.Grains.Storage;
using FedGrains.Learning.Privacy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Sites;

/// <summary>
/// A site's cross-job ledger. A single activation per site serialises every check and spend, so two jobs training on
/// the same site at once cannot both pass a check that only one of them fits. Its entries are hash-chained
/// (<see cref="LedgerChain"/>): a ledger altered in storage, or one that cannot be read, refuses every check, spend
/// and report until it is restored, rather than resetting or spending from numbers nobody recorded.
/// </summary>
[SiteLedgerPlacementFilter]
public sealed class SiteLedgerGrain(
    [PersistentState("site-ledger", SiteLedgerStorage.Name)] IPersistentState<SiteLedgerState> ledger,
    IOptions<SitePrivacyOptions> options,
    IOptions<SiteOptions> site,
    IOptions<FedGrainsSiloOptions> silo,
    [FromKeyedServices(SiteLedgerStorage.Name)] StoreLocation store,
    StoreLocation jobStore,
    AnswerSeals seals,
    ILogger<SiteLedgerGrain> logger) : Grain, ISiteLedgerGrain, IIncomingGrainCallFilter
{
    private string SiteId => this.GetPrimaryKeyString();
    private SitePrivacyOptions Options => options.Value;
    private LifetimeBudget Budget => field ??= LifetimeBudget.Of(SiteId, Options, site.Value, silo.Value);

    /// <summary>Why this ledger refuses everything (altered, unreadable or missing in storage), or null when its chain verifies.</summary>
    private string? altered;

    /// <summary>Whether this activation has made sure the site directory lists the site (so a report finds it).</summary>
    private bool registered;

    /// <summary>Activated away from the site's own silo while it is down (<see cref="SiteAway"/>): answers nothing.</summary>
    private bool away;

    public Task Invoke(IIncomingGrainCallContext context) => away ? throw SiteAway.Refuse(this, SiteId) : context.Invoke();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // First: this silo's store is not the site's, so nothing read from it is judged (or sealed and written back).
        if (away = await SiteAway.IsAwayAsync(GrainFactory, seals, SiteId, silo.Value)) return;
        var s = ledger.State;
        if (!ledger.RecordExists && await IsListedAsync())
        {
            // The site registered after its first spend was stored: an empty ledger now would forget what it spent.
            altered = SiteLedgerIntegrity.Missing(SiteId, store);
            Log.Altered(logger, SiteId, altered);
            return;
        }
        if (s.Unreadable is { } why)
        {
            altered = SiteLedgerIntegrity.Unreadable(SiteId, why);
            Log.Altered(logger, SiteId, altered);
            return;
        }
        if (s.SchemaVersion < SiteLedgerState.CurrentSchema)
            s.Entries = s.Entries.Select(e => e.FirstFormatCharges is { } first
                ? e with { Charges = SiteChargeV1.ToCharges(first), FirstFormatCharges = null }
                : e).ToList(); // written back with the next spend
        var entries = SiteLedgerIntegrity.Entries(s);
        if (s.SchemaVersion < SiteLedgerState.ChainedSchema && s.Hashes.Count == 0 && entries.Count > 0)
        {
            // Ledgers written before the chain have no hashes: seal what they hold now, so any later edit shows.
            s.Hashes = [.. LedgerChain.Seal(SiteId, entries)];
            s.SchemaVersion = SiteLedgerState.CurrentSchema;
            await ledger.WriteDurablyAsync(this);
            Log.SealedLegacy(logger, SiteId, entries.Count);
        }
        else if (LedgerChain.Verify(SiteId, entries, s.Hashes) is { } at)
        {
            altered = SiteLedgerIntegrity.Altered(SiteId, at);
            Log.Altered(logger, SiteId, altered);
        }
    }

    private async Task<bool> IsListedAsync()
    {
        var challenge = AnswerSeals.NewChallenge();
        return seals.Open(SealedPurpose.Listed(SiteId), challenge, await GrainFactory.GetGrain<ISiteDirectoryGrain>(0).IsListedAsync(SiteId, challenge));
    }

    /// <summary>
    /// Checked when a job is admitted, i.e. when its federation has no state. Spends of that job id already recorded
    /// here mean its state was lost, not that it is new: admitting it would repeat rounds whose spends this ledger
    /// then counts once (a spend of the same job, gateway, round and version is recorded once).
    /// </summary>
    public Task<string?> CheckAsync(string jobId, IReadOnlyList<PrivacyCharge> planned)
    {
        if (altered is not null) return Task.FromResult<string?>(altered);
        int earlier = ledger.State.Entries.Count(e => e.JobId == jobId);
        if (earlier > 0)
            return Task.FromResult<string?>(jobStore.Missing($"the state of job '{jobId}'", $"site '{SiteId}' has recorded {earlier} release(s) of that job, which is now being started as new"));
        return RefusalAsync($"job '{jobId}' plans {PrivacyLedger.Describe(planned)}", planned);
    }

    public Task<Sealed<IReadOnlyList<SiteSpend>>> GetSpendsAsync(string jobId, string gatewayId, string challenge) =>
        altered is not null ? throw new InvalidOperationException(altered)
            : Task.FromResult(seals.Seal<IReadOnlyList<SiteSpend>>(SealedPurpose.Spends(SiteId, jobId, gatewayId), challenge,
                ledger.State.Entries.Where(e => e.JobId == jobId && e.GatewayId == gatewayId).ToArray()));

    public async Task<Sealed<string?>> SpendAsync(SiteSpend spend, string challenge) =>
        seals.Seal(SealedPurpose.Spend(SiteId, spend), challenge, await RecordAsync(spend));

    private async Task<string?> RecordAsync(SiteSpend spend)
    {
        if (altered is not null) return altered;
        if (ledger.State.Entries.Any(e => e.JobId == spend.JobId && e.GatewayId == spend.GatewayId && e.Round == spend.Round && e.ModelVersion == spend.ModelVersion))
            return null;
        if (await RefusalAsync($"job '{spend.JobId}' round {spend.Round} ({spend.GatewayId}) would add {PrivacyLedger.Describe(spend.Charges)}", spend.Charges) is { } refusal)
        {
            Log.Refused(logger, SiteId, spend.JobId, spend.GatewayId, spend.Round, refusal);
            return refusal;
        }
        var s = ledger.State;
        var previous = s.Hashes.Count > 0 ? s.Hashes[^1] : LedgerChain.Genesis(SiteId);
        s.Entries.Add(spend);
        s.Hashes.Add(LedgerChain.Next(previous, SiteLedgerIntegrity.ToEntry(spend)));
        s.SchemaVersion = SiteLedgerState.CurrentSchema;
        try
        {
            // Recorded only once stored: a write that fails after retries deactivates this ledger (DurableWrites).
            await ledger.WriteDurablyAsync(this);
        }
        catch
        {
            // Unknown whether the store took it (a Redis outage can lose the reply, not the write). Forget the copy in
            // memory, which a retry would otherwise take for recorded; the next activation reads the store again.
            s.Entries.RemoveAt(s.Entries.Count - 1);
            s.Hashes.RemoveAt(s.Hashes.Count - 1);
            throw;
        }
        if (!registered)
        {
            // Once per activation, and never at the cost of the spend, which is stored: a failed one is tried with the next.
            try { await GrainFactory.GetGrain<ISiteDirectoryGrain>(0).RegisterAsync(SiteId); registered = true; }
            catch (Exception e) when (DurableWrites.Unreachable(e)) { }
        }
        return null;
    }

    public Task<SiteReport> GetReportAsync()
    {
        if (altered is not null) throw new InvalidOperationException(altered);
        var entries = ledger.State.Entries.ToArray();
        return AccountantWork.RunAsync(() => Report(entries));
    }

    private SiteReport Report(IReadOnlyList<SiteSpend> entries)
    {
        var jobs = entries
            .GroupBy(e => (e.JobId, e.GatewayId))
            .Select(g =>
            {
                var steps = g.SelectMany(e => e.Charges).Where(c => c.Mechanism == Mechanism.DpSgd).ToArray();
                var spent = Ledger(g.SelectMany(e => e.Charges));
                // A gateway may have released only noised metrics (a personal accuracy), no DP-SGD step.
                var last = steps.LastOrDefault();
                return new SiteJobSpend(g.Key.JobId, g.Key.GatewayId, g.Count(), steps.Sum(c => c.Steps), last?.SampleRate ?? 0,
                    last?.NoiseMultiplier ?? 0, spent.Epsilon(), g.Last().RecordedAt, spent.SecureSumEpsilon());
            })
            .OrderBy(j => j.LastRecordedAt)
            .ToArray();
        var lifetime = Ledger(entries.SelectMany(e => e.Charges));
        return new SiteReport(SiteId, lifetime.Epsilon(), Options.LifetimeDelta, Options.Accountant, Budget.Epsilon, jobs, lifetime.SecureSumEpsilon());
    }

    /// <summary>Why adding <paramref name="more"/> would cross the site's budget, or null when it fits or there is no budget.</summary>
    private async Task<string?> RefusalAsync(string what, IReadOnlyList<PrivacyCharge> more)
    {
        var recorded = ledger.State.Entries.SelectMany(e => e.Charges).ToArray();
        var site = Ledger(recorded);
        if (Budget.SecureSumEpsilon is { } cap && more.Any(c => !c.IsExampleLevel)
            && Ledger(recorded.Concat(more)) is var projected
            && await AccountantWork.RunAsync(() => (Before: site.SecureSumEpsilon() ?? 0, After: projected.SecureSumEpsilon() ?? 0)) is var sums
            && !(sums.After <= cap * (1 + 1e-9)))
            return string.Create(CultureInfo.InvariantCulture,
                $"site '{SiteId}' lifetime budget for secure sums: {what}, which would bring the site-level epsilon of its secure sums to {sums.After:F3} > the site's {SitePolicyOptions.Section}:LifetimeSecureSumEpsilon {cap} (delta {Options.LifetimeDelta}, RDP); its sums so far are at {sums.Before:F3}. Raise aggregation.secure.noise_multiplier or lower the rounds, or the site may raise its {SitePolicyOptions.Section}:LifetimeSecureSumEpsilon.");
        if (site.Budget is not { } budget) return null;
        var projection = await AccountantWork.RunAsync(() => site.Project(more));
        if (projection.Fits) return null;
        int jobs = ledger.State.Entries.Select(e => e.JobId).Distinct().Count();
        return string.Create(CultureInfo.InvariantCulture,
            $"site '{SiteId}' lifetime budget: {what}, which would bring the site to epsilon {projection.Projected:F3} > its lifetime budget {budget} (delta {Options.LifetimeDelta}, {Options.Accountant} accountant; {Budget.Source}); it has spent epsilon {projection.Spent:F3} over {jobs} job(s). {Budget.Remedy}");
    }

    /// <summary>The site's charges as a ledger, at the site's delta, accountant and budget.</summary>
    private PrivacyLedger Ledger(IEnumerable<PrivacyCharge> charges) =>
        new(PrivacyAccountants.Get(Options.Accountant), Options.LifetimeDelta, Budget.Epsilon, charges);
}

/// <summary>A site's ledger record. Its charges are stored as <see cref="PrivacyCharge"/>s, which read the first format's site charges as they were.</summary>
[GenerateSerializer, Alias("fedgrains.site-ledger-state")]
public sealed class SiteLedgerState
{
    public const int CurrentSchema = 3;

    /// <summary>The first format whose entries are hash-chained; records of earlier ones are sealed when first read.</summary>
    public const int ChainedSchema = 3;

    [Id(0)] public List<SiteSpend> Entries { get; set; } = [];

    /// <summary>0 for a record of the first format (charges as <see cref="SiteChargeV1"/>), else the format that wrote it.</summary>
    [Id(1)] public int SchemaVersion { get; set; }

    /// <summary>The hash chain over <see cref="Entries"/> (<see cref="LedgerChain"/>): one SHA-256 per entry, in order.</summary>
    [Id(2)] public List<byte[]> Hashes { get; set; } = [];

    /// <summary>Set by <see cref="SiteLedgerStorage"/> (never stored) when the stored record could not be read: why.</summary>
    [field: NonSerialized] public string? Unreadable { get; init; }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Site {SiteId} refused job {JobId} gateway {GatewayId} round {Round}: {Reason}")]
    public static partial void Refused(ILogger logger, string siteId, string jobId, string gatewayId, int round, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Site {SiteId} refuses every check, spend and report: {Reason}")]
    public static partial void Altered(ILogger logger, string siteId, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Site {SiteId}: sealed {Entries} legacy entries")]
    public static partial void SealedLegacy(ILogger logger, string siteId, int entries);
}
