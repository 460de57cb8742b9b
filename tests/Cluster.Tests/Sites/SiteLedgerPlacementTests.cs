using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Privacy;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Sites;

/// <summary>A site's ledger lives on the site's own silo, in the file that silo keeps (FedGrains:Site:LedgerPath).</summary>
public sealed class SiteLedgerPlacementTests
{
    [Fact]
    public async Task A_sites_ledger_is_kept_on_its_own_silo_in_its_own_file_and_other_ledgers_on_an_unnamed_silo()
    {
        var database = TestCluster.NewDatabasePath();
        var siteFile = Path.Combine(Path.GetDirectoryName(database)!, "hospital-a", "ledger.db");
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((options, silo) =>
        {
            bool hospital = options.SiloName != TestCluster.PrimarySilo;
            silo.AddFedGrainsSqliteStorage(database);
            silo.AddFedGrains(new FedGrainsSiloOptions { Device = "cpu", TorchThreads = 1, SeededNoiseForTests = true, Site = hospital ? "hospital-a" : null });
            if (hospital) silo.AddFedGrainsSite(new SiteOptions { LedgerPath = siteFile });
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        try
        {
            foreach (var site in new[] { "hospital-a", "elsewhere" })
                Assert.Null((await cluster.Grains().GetGrain<ISiteLedgerGrain>(site)
                    .SpendAsync(new SiteSpend("placed", "g", 1, 0, [new PrivacyCharge(0.1, 1.0, 10)], DateTimeOffset.UtcNow), "challenge")).Value);
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }

        Assert.NotNull(StoredLedger.Read(siteFile, "hospital-a"));
        Assert.Null(StoredLedger.Read(database, "hospital-a"));
        Assert.NotNull(StoredLedger.Read(database, "elsewhere"));
        Assert.Null(StoredLedger.Read(siteFile, "elsewhere"));
    }
}
