using System.CommandLine;
using System.Globalization;
using FedGrains.Cli.Running;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Storage;
using Spectre.Console;

namespace FedGrains.Cli.Commands;

/// <summary>
/// `fedgrains privacy report`: what every data site has spent, over its lifetime and per job. Exits 1 when a site's
/// ledger is altered or unreadable (its message is printed, the other sites are still reported). With --state, the
/// store is verified before anything opens it (exit 2 when it is damaged), and every job a site records is checked
/// against its federation and its gateways' own ledgers: both must hold the same releases (exit 1 when not).
/// </summary>
internal static class PrivacyReportCommand
{
    public static Command Create()
    {
        var state = new Option<FileInfo?>("--state")
        {
            Description = "Read the ledger of a `fedgrains run` output instead of a cluster: its state/fedgrains.db (e.g. fedgrains-out/state/fedgrains.db) (default none: the cluster).",
        };
        var site = new Option<string?>("--site") { Description = "Only this site (default every site the caller may see)." };
        var command = new Command("report", "Per site: lifetime epsilon (the accountant's composition of every run on its data) and budget; per job: what each gateway ran.")
        {
            ClusterCommands.Cluster, ClusterCommands.Credential, ClusterTls.Certificate, ClusterTls.Authority, state, site,
        };
        command.SetAction((r, ct) =>
        {
            if (r.GetValue(state) is { } file)
                return ClusterCommands.WithGrainsAsync(async () =>
                {
                    if (!file.Exists) throw new FileNotFoundException($"--state {file.FullName} does not exist; give the state/fedgrains.db of a `fedgrains run --output DIR`.");
                    SqliteStoreCheck.Verify(file.FullName);
                    await using var embedded = await EmbeddedFederation.StartAsync(file.FullName, "cpu", null, ct);
                    return await PrintAsync(embedded.Grains, r.GetValue(site), crossCheck: true);
                });
            return ClusterCommands.WithClusterAsync(r, ct, client => PrintAsync(client, r.GetValue(site), crossCheck: false));
        });
        return command;
    }

    private static async Task<int> PrintAsync(IGrainFactory grains, string? only, bool crossCheck)
    {
        var sites = only is not null ? [only] : await grains.GetGrain<ISiteDirectoryGrain>(0).ListAsync();
        if (sites.Count == 0)
        {
            Console.WriteLine("no site has spent anything yet.");
            return 0;
        }
        int exit = 0;
        foreach (var id in sites)
        {
            SiteReport report;
            try { report = await grains.GetGrain<ISiteLedgerGrain>(id).GetReportAsync(); }
            catch (InvalidOperationException e)
            {
                // An altered or unreadable ledger: say so and go on with the other sites, but never exit 0.
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
                exit = 1;
                continue;
            }
            catch (Grains.Placement.SiteOfflineException e)
            {
                // The site's ledger is kept on its own silo, which is down: the others are still reported.
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}; its ledger is reported when its silo is back.");
                exit = 3;
                continue;
            }
            catch (UnauthorizedAccessException e) when (only is null)
            {
                // A site's silo that does not know this client's key (a site gives its silo only the keys it trusts):
                // the other sites are still reported, and the exit code says something was refused.
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] site {id}: {e.Message}");
                exit = 5;
                continue;
            }
            var budget = report.LifetimeBudget is { } b ? b.ToString("G4", CultureInfo.InvariantCulture) : "none (recorded, not enforced)";
            AnsiConsole.MarkupLineInterpolated(
                $"[bold]site {report.SiteId}[/]: lifetime epsilon {Format(report.Epsilon)} at delta {report.Delta.ToString("G3", CultureInfo.InvariantCulture)} ({report.Accountant} accountant), budget {budget}");
            if (report.SecureSumEpsilon is { } siteLevel)
                AnsiConsole.MarkupLineInterpolated(
                    $"  site-level epsilon of its secure sums with distributed noise: {Format(siteLevel)} (RDP; what the released sums reveal about the site's whole data; apart from the example-level epsilon above)");
            if (report.Jobs.Count == 0)
            {
                Console.WriteLine("  no runs recorded.");
                continue;
            }
            var table = new Table().AddColumns("job", "gateway", "releases", "steps", "sample rate", "noise multiplier", "epsilon (job alone)", "last");
            foreach (var j in report.Jobs)
                table.AddRow(j.JobId, j.GatewayId, j.Releases.ToString(CultureInfo.InvariantCulture), j.Steps.ToString(CultureInfo.InvariantCulture),
                    j.SampleRate.ToString("G4", CultureInfo.InvariantCulture), j.NoiseMultiplier > 0 ? j.NoiseMultiplier.ToString("G4", CultureInfo.InvariantCulture) : "none",
                    Format(j.Epsilon), j.LastRecordedAt.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            foreach (var problem in crossCheck ? await DisagreementsAsync(grains, report) : [])
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {problem}");
                exit = 1;
            }
        }
        return exit;
    }

    /// <summary>
    /// Where the site's record and its jobs' own state disagree: a job the site records whose state is gone, a gateway
    /// whose ledger is gone or holds other releases. (Reading a gateway's ledger reconciles it with the site's first.)
    /// </summary>
    private static async Task<IReadOnlyList<string>> DisagreementsAsync(IGrainFactory grains, SiteReport report)
    {
        var problems = new List<string>();
        foreach (var spends in report.Jobs.GroupBy(j => j.JobId))
        {
            var job = grains.GetGrain<IFederationGrain>(spends.Key);
            IReadOnlyList<GatewayPrivacy> ledgers;
            try
            {
                if (await job.GetSpecAsync() is null)
                {
                    problems.Add($"site {report.SiteId} records {spends.Sum(s => s.Releases)} release(s) of job '{spends.Key}', whose state is missing from this store: restore the store from a backup.");
                    continue;
                }
                ledgers = await job.GetGatewayPrivacyAsync();
            }
            catch (InvalidOperationException e)
            {
                problems.Add(e.Message);
                continue;
            }
            foreach (var spend in spends)
            {
                var own = ledgers.FirstOrDefault(l => l.GatewayId == spend.GatewayId);
                if (own is null || own.Releases != spend.Releases || own.Steps != spend.Steps)
                    problems.Add($"site {report.SiteId} records {spend.Releases} release(s) ({spend.Steps} steps) of gateway '{spend.GatewayId}' in job '{spend.JobId}', but the gateway's own ledger records "
                        + (own is null ? "none" : $"{own.Releases} ({own.Steps} steps)") + ": the two ledgers must agree; restore the store from a backup.");
            }
        }
        return problems;
    }

    private static string Format(double epsilon) =>
        double.IsPositiveInfinity(epsilon) ? "unbounded (a run without noise)" : epsilon.ToString("F3", CultureInfo.InvariantCulture);
}
