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
    public async Task While_the_sites_silo_is_down_its_pending_job_waits_and_the_other_site_spends_nothing_and_once_back_its_admin_approves_from_the_sites_store()
    {
        var database = TestCluster.NewDatabasePath();
        var siteFile = Path.Combine(Path.GetDirectoryName(database)!, "out-a", "site.db");
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((options, silo) =>
        {
            bool siteA = options.SiloName is "Silo_1" or "Silo_3"; // Silo_3: out-a's silo started again
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
            Assert.Contains("out-a (unreachable)", status.Waiting ?? "(not waiting)");

            // The site's silo is back: its request is where the site keeps it, and its admin's approval lets the job run.
            await cluster.StartAdditionalSiloAsync();
            var approvals = cluster.Client.GetGrain<ISiteApprovalsGrain>("out-a");
            JobApproval? request = null;
            for (var deadline = DateTime.UtcNow.AddMinutes(1); request is null; await Task.Delay(500))
            {
                try { request = (await approvals.ListAsync()).SingleOrDefault(r => r.JobId == "outage-pending"); }
                catch (Exception e) when (e is OrleansException && DateTime.UtcNow < deadline) { } // the away activation moves to the site's silo
            }
            Assert.Equal(ApprovalState.Pending, request.State);
            await approvals.DecideAsync("outage-pending", request.SpecDigest, true, null);
            Assert.Equal(JobState.Running, (await TestCluster.WaitAsync(job, s => s.RoundsCompleted >= 2)).State);
            await job.CancelAsync();
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }
}
