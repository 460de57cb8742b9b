using System.Globalization;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Privacy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Sites;

/// <summary>
/// A site's cross-job ledger. A single activation per site serialises every check and spend, so two jobs training on
/// the same site at once cannot both pass a check that only one of them fits.
/// </summary>
public sealed class SiteLedgerGrain(
    [PersistentState("site-ledger", "fedgrains")] IPersistentState<SiteLedgerState> ledger,
    IOptions<SitePrivacyOptions> options,
    ILogger<SiteLedgerGrain> logger) : Grain, ISiteLedgerGrain
{
    private string SiteId => this.GetPrimaryKeyString();
    private SitePrivacyOptions Options => options.Value;

    public Task<string?> CheckAsync(string jobId, IReadOnlyList<SiteCharge> planned) =>
        RefusalAsync($"job '{jobId}' plans {Describe(planned)}", planned);

    public async Task<string?> SpendAsync(SiteSpend spend)
    {
        if (ledger.State.Entries.Any(e => e.JobId == spend.JobId && e.GatewayId == spend.GatewayId && e.Round == spend.Round && e.ModelVersion == spend.ModelVersion))
            return null;
        if (await RefusalAsync($"job '{spend.JobId}' round {spend.Round} ({spend.GatewayId}) would add {Describe(spend.Charges)}", spend.Charges) is { } refusal)
        {
            Log.Refused(logger, SiteId, spend.JobId, spend.GatewayId, spend.Round, refusal);
            return refusal;
        }
        bool first = ledger.State.Entries.Count == 0;
        ledger.State.Entries.Add(spend);
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
                var last = g.Last();
                return new SiteJobSpend(g.Key.JobId, g.Key.GatewayId, g.Count(), g.Sum(e => e.Charges[0].Steps), last.Charges[0].SampleRate,
                    last.Charges[0].NoiseMultiplier, Epsilon(g.SelectMany(e => e.Charges)), last.RecordedAt);
            })
            .OrderBy(j => j.LastRecordedAt)
            .ToArray();
        return new SiteReport(SiteId, Epsilon(entries.SelectMany(e => e.Charges)), Options.LifetimeDelta,
            Options.Accountant, Options.BudgetOf(SiteId), jobs);
    }

    /// <summary>Why adding <paramref name="more"/> would cross the site's budget, or null when it fits or there is no budget.</summary>
    private async Task<string?> RefusalAsync(string what, IReadOnlyList<SiteCharge> more)
    {
        if (Options.BudgetOf(SiteId) is not { } budget) return null;
        var spent = ledger.State.Entries.SelectMany(e => e.Charges).ToArray();
        var (projected, spentEpsilon) = await AccountantWork.RunAsync(() => (Epsilon(spent.Concat(more)), Epsilon(spent)));
        if (projected <= budget * (1 + 1e-9)) return null;
        int jobs = ledger.State.Entries.Select(e => e.JobId).Distinct().Count();
        return string.Create(CultureInfo.InvariantCulture,
            $"site '{SiteId}' lifetime budget: {what}, which would bring the site to epsilon {projected:F3} > its lifetime budget {budget} (delta {Options.LifetimeDelta}, {Options.Accountant} accountant); it has spent epsilon {spentEpsilon:F3} over {jobs} job(s). Lower the job's target_epsilon or raise FedGrains:Privacy:Sites:{SiteId} if the data owner agrees.");
    }

    /// <summary>The composition of all charges; a run without noise (sigma 0) makes it unbounded.</summary>
    private double Epsilon(IEnumerable<SiteCharge> charges)
    {
        var list = charges.Where(c => c.Steps > 0).ToArray();
        if (list.Any(c => c.NoiseMultiplier <= 0)) return double.PositiveInfinity;
        return Accountants.Epsilon(Options.Accountant, list.Select(c => new PrivacyCharge(c.SampleRate, c.NoiseMultiplier, c.Steps)), Options.LifetimeDelta);
    }

    private static string Describe(IReadOnlyList<SiteCharge> charges) =>
        string.Join(" + ", charges.Select(c => c.NoiseMultiplier > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{c.Steps} steps at q={c.SampleRate:G4}, sigma={c.NoiseMultiplier:G4}")
            : $"{c.Steps} steps without noise (no epsilon claimed)"));
}

[GenerateSerializer, Alias("fedgrains.site-ledger-state")]
public sealed class SiteLedgerState
{
    [Id(0)] public List<SiteSpend> Entries { get; set; } = [];
}

internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Site {SiteId} refused job {JobId} gateway {GatewayId} round {Round}: {Reason}")]
    public static partial void Refused(ILogger logger, string siteId, string jobId, string gatewayId, int round, string reason);
}
