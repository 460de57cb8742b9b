using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Sites;

/// <summary>
/// A site that approves each job keeps its requests in its own store (FedGrains:Site:LedgerPath) on its own silo.
/// While that silo is down, nobody else may answer for it: not a silo that serves any site, from another store.
/// Silo_0: the federation (no gateways); Silo_1: site out-a, its own ledger file, approval on; Silo_2: any site (out-b).
/// </summary>
public sealed class ApprovalSiteOutageTests
{
    [Fact]
    public async Task While_the_sites_silo_is_down_its_pending_job_stays_waiting_and_the_other_site_spends_nothing()
    {
        var database = TestCluster.NewDatabasePath();
        var siteFile = Path.Combine(Path.GetDirectoryName(database)!, "out-a", "site.db");
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((options, silo) =>
        {
            bool siteA = options.SiloName == "Silo_1";
            silo.AddFedGrainsSqliteStorage(database);
            silo.AddFedGrains(new FedGrainsSiloOptions
            {
                HostsGateways = options.SiloName != TestCluster.PrimarySilo, Site = siteA ? "out-a" : null,
                Device = "cpu", TorchThreads = 1, SeededNoiseForTests = true, RoundTickMilliseconds = 20,
            });
            if (siteA) silo.AddFedGrainsSite(new SiteOptions { LedgerPath = siteFile, Policy = new SitePolicyOptions { RequireApproval = true } });
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        try
        {
            var job = cluster.Client.GetGrain<IFederationGrain>("outage-pending");
            await job.StartAsync(TestCluster.SyntheticJob(rounds: 50, gateways: 2) with
            {
                Gateways = [new GatewaySpec { Id = "a", Site = "out-a" }, new GatewaySpec { Id = "b", Site = "out-b" }],
            });
            await TestCluster.WaitAsync(job, s => s.Waiting is not null);

            await cluster.StopSiloAsync(cluster.Silos.Single(s => s.Name == "Silo_1"));
            await Task.Delay(TimeSpan.FromSeconds(8)); // the federation asks the sites every two seconds
            var status = await job.GetStatusAsync();
            var spent = (await cluster.Client.GetGrain<ISiteLedgerGrain>("out-b").GetReportAsync()).Jobs.Where(j => j.JobId == "outage-pending").Sum(j => j.Releases);
            Assert.True(status.RoundsCompleted == 0 && spent == 0,
                $"site out-a never approved, yet with its silo down the job ran {status.RoundsCompleted} round(s) and site out-b released {spent} update(s); waiting: {status.Waiting ?? "(nothing)"}");
            Assert.Contains("out-a", status.Waiting ?? "(not waiting)");
            await job.CancelAsync();
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }
}
