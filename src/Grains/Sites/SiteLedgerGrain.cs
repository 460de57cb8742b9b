using System.Globalization;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Placement;
using FedGrains.Learning.Privacy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Sites;

/// <summary>
/// A site's cross-job ledger. A single activation per site serialises every check and spend, so two jobs training on
/// the same site at once cannot both pass a check that only one of them fits.
/// </summary>
[SitePlacementFilter]
public sealed class SiteLedgerGrain(
    [PersistentState("site-ledger", "fedgrains")] IPersistentState<SiteLedgerState> ledger,
    IOptions<SitePrivacyOptions> options,
    ILogger<SiteLedgerGrain> logger) : Grain, ISiteLedgerGrain
{
    private string SiteId => this.GetPrimaryKeyString();
    private SitePrivacyOptions Options => options.Value;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var s = ledger.State;
        if (s.SchemaVersion < SiteLedgerState.CurrentSchema)
            s.Entries = s.Entries.Select(e => e.FirstFormatCharges is { } first
                ? e with { Charges = SiteChargeV1.ToCharges(first), FirstFormatCharges = null }
                : e).ToList(); // written back with the next spend
        return Task.CompletedTask;
    }

    public Task<string?> CheckAsync(string jobId, IReadOnlyList<PrivacyCharge> planned) =>
        RefusalAsync($"job '{jobId}' plans {PrivacyLedger.Describe(planned)}", planned);

    public async Task<string?> SpendAsync(SiteSpend spend)
    {
        if (ledger.State.Entries.Any(e => e.JobId == spend.JobId && e.GatewayId == spend.GatewayId && e.Round == spend.Round && e.ModelVersion == spend.ModelVersion))
            return null;
        if (await RefusalAsync($"job '{spend.JobId}' round {spend.Round} ({spend.GatewayId}) would add {PrivacyLedger.Describe(spend.Charges)}", spend.Charges) is { } refusal)
        {
            Log.Refused(logger, SiteId, spend.JobId, spend.GatewayId, spend.Round, refusal);
            return refusal;
        }
        bool first = ledger.State.Entries.Count == 0;
        ledger.State.Entries.Add(spend);
        ledger.State.SchemaVersion = SiteLedgerState.CurrentSchema;
        await ledger.WriteStateAsync();
        if (first) await GrainFactory.GetGrain<ISiteDirectoryGrain>(0).RegisterAsync(SiteId);
        return null;
    }

    public Task<SiteReport> GetReportAsync()
    {
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
                return new SiteJobSpend(g.Key.JobId, g.Key.GatewayId, g.Count(), steps.Sum(c => c.Steps), steps[^1].SampleRate,
                    steps[^1].NoiseMultiplier, Ledger(g.SelectMany(e => e.Charges)).Epsilon(), g.Last().RecordedAt);
            })
            .OrderBy(j => j.LastRecordedAt)
            .ToArray();
        return new SiteReport(SiteId, Ledger(entries.SelectMany(e => e.Charges)).Epsilon(), Options.LifetimeDelta,
            Options.Accountant, Options.BudgetOf(SiteId), jobs);
    }

    /// <summary>Why adding <paramref name="more"/> would cross the site's budget, or null when it fits or there is no budget.</summary>
    private async Task<string?> RefusalAsync(string what, IReadOnlyList<PrivacyCharge> more)
    {
        var site = Ledger(ledger.State.Entries.SelectMany(e => e.Charges));
        if (site.Budget is not { } budget) return null;
        var projection = await AccountantWork.RunAsync(() => site.Project(more));
        if (projection.Fits) return null;
        int jobs = ledger.State.Entries.Select(e => e.JobId).Distinct().Count();
        return string.Create(CultureInfo.InvariantCulture,
            $"site '{SiteId}' lifetime budget: {what}, which would bring the site to epsilon {projection.Projected:F3} > its lifetime budget {budget} (delta {Options.LifetimeDelta}, {Options.Accountant} accountant); it has spent epsilon {projection.Spent:F3} over {jobs} job(s). Lower the job's target_epsilon or raise FedGrains:Privacy:Sites:{SiteId} if the data owner agrees.");
    }

    /// <summary>The site's charges as a ledger, at the site's delta, accountant and budget.</summary>
    private PrivacyLedger Ledger(IEnumerable<PrivacyCharge> charges) =>
        new(PrivacyAccountants.Get(Options.Accountant), Options.LifetimeDelta, Options.BudgetOf(SiteId), charges);
}

/// <summary>A site's ledger record. Its charges are stored as <see cref="PrivacyCharge"/>s, which read the first format's site charges as they were.</summary>
[GenerateSerializer, Alias("fedgrains.site-ledger-state")]
public sealed class SiteLedgerState
{
    public const int CurrentSchema = 2;

    [Id(0)] public List<SiteSpend> Entries { get; set; } = [];

    /// <summary>0 for a record of the first format (charges as <see cref="SiteChargeV1"/>), else the format that wrote it.</summary>
    [Id(1)] public int SchemaVersion { get; set; }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Site {SiteId} refused job {JobId} gateway {GatewayId} round {Round}: {Reason}")]
    public static partial void Refused(ILogger logger, string siteId, string jobId, string gatewayId, int round, string reason);
}
