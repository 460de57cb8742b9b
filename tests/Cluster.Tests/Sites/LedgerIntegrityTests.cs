using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Sites;

/// <summary>
/// A site's ledger in a real SQLite store, altered between two runs of the cluster as someone with the file could:
/// the ledger refuses every check, spend and report with one message, and `privacy report` exits non-zero with it.
/// </summary>
public sealed class LedgerIntegrityTests
{
    private const string Site = "tamper-a";

    private static string Altered(int entry, string job, int round) =>
        $"the privacy ledger of site {Site} is altered at entry {entry} (job {job} round {round}): restore it from a backup; FedGrains will not spend or report from an altered ledger";

    private static JobSpec TwoRounds(string site) => TestCluster.SyntheticJob(rounds: 2, gateways: 2) with
    {
        Gateways = [new GatewaySpec { Id = "a", Site = site }, new GatewaySpec { Id = "b", Site = site + "-other" }],
    };

    /// <summary>Runs a two-round job on <see cref="Site"/> and stops the cluster; returns the DP-SGD noise multiplier its ledger holds.</summary>
    private static async Task<double> RunJobAsync(string database, Action<ISiloBuilder>? configure = null)
    {
        var cluster = await TestCluster.StartAsync(database, silos: 2, configure);
        try
        {
            var job = cluster.Client.GetGrain<IFederationGrain>("tampered");
            await job.StartAsync(TwoRounds(Site));
            Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);
            var spent = Assert.Single((await cluster.Client.GetGrain<ISiteLedgerGrain>(Site).GetReportAsync()).Jobs);
            Assert.Equal(2, spent.Releases);
            return spent.NoiseMultiplier;
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    private static async Task AssertRefusesAsync(InProcessTestCluster cluster, string message)
    {
        var report = await Assert.ThrowsAsync<InvalidOperationException>(cluster.Client.GetGrain<ISiteLedgerGrain>(Site).GetReportAsync);
        Assert.Equal(message, report.Message);
        var ledger = cluster.Grains().GetGrain<ISiteLedgerGrain>(Site); // checks and spends come only from inside the cluster
        Assert.Equal(message, await ledger.CheckAsync("next", [new PrivacyCharge(0.1, 1, 10)]));
        Assert.Equal(message, (await ledger.SpendAsync(new SiteSpend("next", "a", 1, 0, [new PrivacyCharge(0.1, 1, 10)], DateTimeOffset.UtcNow), "challenge")).Value);

        // A job on the site is refused up front and nothing is stored.
        var job = cluster.Client.GetGrain<IFederationGrain>("after-tamper");
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => job.StartAsync(TwoRounds(Site)));
        Assert.Contains(message, refused.Message);
        Assert.Null(await job.GetSpecAsync());
    }

    [Fact]
    public async Task A_ledger_entry_altered_in_the_store_makes_the_ledger_refuse_every_call_and_the_report_fail()
    {
        var database = TestCluster.NewDatabasePath();
        double sigma = await RunJobAsync(database);
        // Raise the second entry's noise multiplier: the site would appear to have spent less than it did.
        var stored = StoredLedger.Read(database, Site)!;
        StoredLedger.Write(database, Site, StoredLedger.WithDoubleReplaced(stored, sigma, 2 * sigma, occurrence: 2));

        var cluster = await TestCluster.StartAsync(database, silos: 2);
        try
        {
            await AssertRefusesAsync(cluster, Altered(2, "tampered", 2));
            // The other site of the job is untouched and still reports.
            Assert.Single((await cluster.Client.GetGrain<ISiteLedgerGrain>(Site + "-other").GetReportAsync()).Jobs);
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }

        using var report = ProcessRunner.StartDotnet("fedgrains.dll", ["privacy", "report", "--state", database]);
        int exit = await report.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(exit != 0, report.Output);
        // The console wraps long lines: compare with every run of white space as one space.
        var printed = System.Text.RegularExpressions.Regex.Replace(report.Output, @"\s+", " ");
        Assert.True(printed.Contains("error: " + Altered(2, "tampered", 2), StringComparison.Ordinal), report.Output);
        Assert.Contains($"site {Site}-other: lifetime epsilon", report.Output);
        Assert.DoesNotContain("   at ", report.Output);
        Assert.DoesNotContain("Exception", report.Output);
        // Nothing was written back: the altered bytes are still there for whoever restores the ledger.
        Assert.Equal(StoredLedger.WithDoubleReplaced(stored, sigma, 2 * sigma, occurrence: 2), StoredLedger.Read(database, Site));
    }

    public static TheoryData<string> Corruptions => ["zero bytes", "truncated", "garbage"];

    [Theory, MemberData(nameof(Corruptions))]
    public async Task A_ledger_whose_stored_bytes_cannot_be_read_refuses_every_call_and_is_not_read_as_empty(string corruption)
    {
        var database = TestCluster.NewDatabasePath();
        await RunJobAsync(database);
        var stored = StoredLedger.Read(database, Site)!;
        StoredLedger.Write(database, Site, corruption switch
        {
            "zero bytes" => [],
            "truncated" => stored[..(stored.Length / 2)],
            _ => Enumerable.Range(0, stored.Length).Select(i => (byte)(i * 37 + 11)).ToArray(),
        });

        var cluster = await TestCluster.StartAsync(database, silos: 2);
        try
        {
            var report = await Assert.ThrowsAsync<InvalidOperationException>(cluster.Client.GetGrain<ISiteLedgerGrain>(Site).GetReportAsync);
            Assert.StartsWith($"the privacy ledger of site {Site} is altered: its stored record cannot be read (", report.Message);
            Assert.EndsWith("): restore it from a backup; FedGrains will not spend or report from an altered ledger", report.Message);
            await AssertRefusesAsync(cluster, report.Message);
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    /// <summary>state-v1.db's site ledgers were written before the chain: sealed when first read, then verified on every later activation.</summary>
    [Fact]
    public async Task A_legacy_ledger_is_sealed_on_first_load_and_then_verifies_and_catches_edits()
    {
        var database = TestCluster.NewDatabasePath();
        Directory.CreateDirectory(Path.GetDirectoryName(database)!);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "state-v1.db"), database);
        const string legacy = "gw-00";
        var legacyBytes = StoredLedger.Read(database, legacy)!;

        var first = await ReportAsync(database, legacy);
        var sealedBytes = StoredLedger.Read(database, legacy)!;
        // Sealing wrote the hashes back: 32 bytes per entry and more.
        Assert.True(sealedBytes.Length > legacyBytes.Length + 32 * 2, $"{sealedBytes.Length} bytes stored, {legacyBytes.Length} before");
        var second = await ReportAsync(database, legacy);
        Assert.Equal(first.Epsilon, second.Epsilon);
        Assert.Equal(sealedBytes, StoredLedger.Read(database, legacy)); // verifying writes nothing

        // Sealed, the legacy entries are protected like new ones: raise the first run's noise multiplier and it refuses.
        double sigma = first.Jobs[0].NoiseMultiplier;
        StoredLedger.Write(database, legacy, StoredLedger.WithDoubleReplaced(sealedBytes, sigma, 2 * sigma, occurrence: 1));
        var after = await TestCluster.StartAsync(database, silos: 2);
        try
        {
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(after.Client.GetGrain<ISiteLedgerGrain>(legacy).GetReportAsync);
            Assert.StartsWith($"the privacy ledger of site {legacy} is altered at entry 1 (job v1-job round 1)", refused.Message);
        }
        finally
        {
            await after.StopAllSilosAsync();
            await after.DisposeAsync();
        }
    }

    private static async Task<SiteReport> ReportAsync(string database, string site)
    {
        var cluster = await TestCluster.StartAsync(database, silos: 2);
        try
        {
            var report = await cluster.Client.GetGrain<ISiteLedgerGrain>(site).GetReportAsync();
            Assert.InRange(report.Epsilon, 4.050, 4.052);
            Assert.Equal(["v1-job", "v1-buffered"], report.Jobs.Select(j => j.JobId));
            return report;
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    public static TheoryData<string, string> LedgerFileDamages => new()
    {
        { "zero bytes", "the state store {0} is damaged: it is empty (0 bytes)" },
        { "truncated", "the state store {0} is damaged: it is truncated" },
        { "header overwritten", "the state store {0} is damaged: it does not start with SQLite's header" },
        { "deleted", "the privacy ledger of site tamper-a is missing from the state store {0}, although the site directory lists the site" },
    };

    /// <summary>
    /// The site's own ledger file (FedGrains:Site:LedgerPath) damaged or gone between two runs of the cluster: the
    /// ledger refuses every check, spend and report naming the file, and a damaged file is left as it was. (SQLite
    /// took a zero-byte file for a new database, and the site's lifetime record started over.)
    /// </summary>
    [Theory, MemberData(nameof(LedgerFileDamages))]
    public async Task A_site_ledger_file_that_is_damaged_or_gone_refuses_every_call_and_is_not_started_over(string damage, string says)
    {
        var database = TestCluster.NewDatabasePath();
        var siteFile = Path.Combine(Path.GetDirectoryName(database)!, "site", "ledger.db");
        void OwnFile(ISiloBuilder silo) => silo.AddFedGrainsSite(new SiteOptions { LedgerPath = siteFile });
        await RunJobAsync(database, OwnFile);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var length = new FileInfo(siteFile).Length;
        switch (damage)
        {
            case "zero bytes": File.WriteAllBytes(siteFile, []); break;
            case "truncated": using (var file = File.OpenWrite(siteFile)) file.SetLength(length / 2); break;
            case "header overwritten": using (var file = File.OpenWrite(siteFile)) file.Write(new byte[100]); break;
            default: File.Delete(siteFile); break;
        }
        var damaged = File.Exists(siteFile) ? File.ReadAllBytes(siteFile) : null;

        var cluster = await TestCluster.StartAsync(database, silos: 2, OwnFile);
        try
        {
            var report = await Assert.ThrowsAsync<InvalidOperationException>(cluster.Client.GetGrain<ISiteLedgerGrain>(Site).GetReportAsync);
            Assert.Contains(string.Format(says, siteFile), report.Message);
            Assert.Contains("from a backup", report.Message);
            await AssertRefusesAsync(cluster, report.Message);
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
        if (damaged is not null) Assert.Equal(damaged, File.ReadAllBytes(siteFile));
    }

    [Fact]
    public async Task With_a_site_ledger_path_the_ledger_lives_in_its_own_file_and_the_cluster_store_holds_none()
    {
        var database = TestCluster.NewDatabasePath();
        var siteFile = Path.Combine(Path.GetDirectoryName(database)!, "site", "ledger.db");
        await RunJobAsync(database, silo => silo.AddFedGrainsSite(new SiteOptions { LedgerPath = siteFile }));

        Assert.Null(StoredLedger.Read(database, Site));
        Assert.NotNull(StoredLedger.Read(siteFile, Site));
        Assert.NotNull(StoredLedger.Read(siteFile, Site + "-other"));
    }
}
