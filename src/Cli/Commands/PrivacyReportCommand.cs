using System.CommandLine;
using System.Globalization;
using FedGrains.Cli.Running;
using FedGrains.Grains.Interfaces;
using Spectre.Console;

namespace FedGrains.Cli.Commands;

/// <summary>
/// `fedgrains privacy report`: what every data site has spent, over its lifetime and per job. Exits 1 when a site's
/// ledger is altered or unreadable (its message is printed, the other sites are still reported).
/// </summary>
internal static class PrivacyReportCommand
{
    public static Command Create()
    {
        var state = new Option<FileInfo?>("--state")
        {
            Description = "Read the ledger of a `fedgrains run` output instead of a cluster: its state/fedgrains.db (e.g. fedgrains-out/state/fedgrains.db).",
        };
        var site = new Option<string?>("--site") { Description = "Only this site." };
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
                    await using var embedded = await EmbeddedFederation.StartAsync(file.FullName, "cpu", null, ct);
                    return await PrintAsync(embedded.Grains, r.GetValue(site));
                });
            return ClusterCommands.WithClusterAsync(r, ct, client => PrintAsync(client, r.GetValue(site)));
        });
        return command;
    }

    private static async Task<int> PrintAsync(IGrainFactory grains, string? only)
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
            var budget = report.LifetimeBudget is { } b ? b.ToString("G4", CultureInfo.InvariantCulture) : "none (recorded, not enforced)";
            AnsiConsole.MarkupLineInterpolated(
                $"[bold]site {report.SiteId}[/]: lifetime epsilon {Format(report.Epsilon)} at delta {report.Delta.ToString("G3", CultureInfo.InvariantCulture)} ({report.Accountant} accountant), budget {budget}");
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
        }
        return exit;
    }

    private static string Format(double epsilon) =>
        double.IsPositiveInfinity(epsilon) ? "unbounded (a run without noise)" : epsilon.ToString("F3", CultureInfo.InvariantCulture);
}
