using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Sites;

/// <summary>
/// A job that was running when one of its sites switched FedGrains:Site:Policy:RequireApproval on (a silo restarted
/// with the new setting; the same path as a job whose gateways joined before approvals existed): the gateway of that
/// site asks its admin and refuses to train. The job must wait for that admin, as a new job does, rather than go on
/// without the site while the other sites keep spending.
/// </summary>
public sealed class ApprovalSwitchedOnTests
{
    private const string SiteA = "switch-a", SiteB = "switch-b";

    // Silo_0: the federation (no gateways). Silo_1: site switch-a's own silo. Silo_2: serves any site (switch-b).
    private static async Task<InProcessTestCluster> StartAsync(string database, bool requireApproval)
    {
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((options, silo) =>
        {
            bool siteA = options.SiloName == "Silo_1";
            silo.AddFedGrainsSqliteStorage(database);
            silo.AddFedGrains(new FedGrainsSiloOptions
            {
                HostsGateways = options.SiloName != TestCluster.PrimarySilo,
                Site = siteA ? SiteA : null,
                Device = "cpu",
                MaxConcurrentTrainings = 1,
                TorchThreads = 1,
                SeededNoiseForTests = true,
                RoundTickMilliseconds = 20,
            });
            if (siteA) silo.AddFedGrainsSite(new SiteOptions { Policy = new SitePolicyOptions { RequireApproval = requireApproval } });
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private static JobSpec Job(bool buffered) => TestCluster.SyntheticJob(rounds: 400, gateways: 2) with
    {
        Gateways = [new GatewaySpec { Id = "a", Site = SiteA }, new GatewaySpec { Id = "b", Site = SiteB }],
        Aggregation = buffered
            ? TestCluster.SyntheticJob().Aggregation with { Buffered = TestCluster.SyntheticJob().Aggregation.Buffered with { Enabled = true, BufferSize = 1 } }
            : TestCluster.SyntheticJob().Aggregation,
    };

    private static async Task<int> ReleasesAsync(InProcessTestCluster cluster, string site, string jobId) =>
        (await cluster.Client.GetGrain<ISiteLedgerGrain>(site).GetReportAsync()).Jobs.Where(j => j.JobId == jobId).Sum(j => j.Releases);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_running_job_whose_site_switched_approval_on_waits_for_its_admin_and_the_other_site_spends_nothing_meanwhile(bool buffered)
    {
        var database = TestCluster.NewDatabasePath();
        string id = buffered ? "switched-buffered" : "switched";
        var before = await StartAsync(database, requireApproval: false);
        try
        {
            var job = before.Client.GetGrain<IFederationGrain>(id);
            await job.StartAsync(Job(buffered));
            await TestCluster.WaitAsync(job, s => s.RoundsCompleted >= 2);
        }
        finally
        {
            await before.StopAllSilosAsync();
            await before.DisposeAsync();
        }

        var after = await StartAsync(database, requireApproval: true);
        try
        {
            var job = after.Client.GetGrain<IFederationGrain>(id);
            var resumed = await job.GetStatusAsync(); // activates the job: its rounds resume
            int bBefore = await ReleasesAsync(after, SiteB, id);
            var first = await TestCluster.WaitAsync(job, s => s.Waiting is not null || s.State != JobState.Running || s.RoundsCompleted >= resumed.RoundsCompleted + 20);
            int bAtWait = await ReleasesAsync(after, SiteB, id);
            await Task.Delay(TimeSpan.FromSeconds(6));
            var waiting = await job.GetStatusAsync();
            Assert.Equal(JobState.Running, waiting.State);
            Assert.Contains($"awaiting the approval of site(s) {SiteA}", waiting.Waiting ?? $"(not waiting; {waiting.RoundsCompleted - resumed.RoundsCompleted} rounds went on without site a)");
            // Synchronous: at most the round in flight when a's gateway first refused. Buffered: the arrivals before
            // a's refusal did count; once the job waits, only the update already in flight may still come in.
            if (!buffered)
            {
                Assert.InRange(waiting.RoundsCompleted, resumed.RoundsCompleted, resumed.RoundsCompleted + 1);
                Assert.InRange(await ReleasesAsync(after, SiteB, id), bBefore, bBefore + 1);
            }
            Assert.InRange(waiting.RoundsCompleted, first.RoundsCompleted, first.RoundsCompleted + 1);
            Assert.InRange(await ReleasesAsync(after, SiteB, id), bAtWait, bAtWait + 1);

            // Once a's admin (without authentication, the local user) approves, a trains again.
            var approvals = after.Client.GetGrain<ISiteApprovalsGrain>(SiteA);
            var request = Assert.Single(await approvals.ListAsync(), r => r.JobId == id);
            await approvals.DecideAsync(id, request.SpecDigest, true, null);
            int aApproved = await ReleasesAsync(after, SiteA, id);
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (await ReleasesAsync(after, SiteA, id) < aApproved + 2)
            {
                var status = await job.GetStatusAsync();
                Assert.True(status.State == JobState.Running, $"job {status.State}: {status.Error}");
                Assert.True(DateTime.UtcNow < deadline, $"site a never trained again after its approval; job at round {status.RoundsCompleted}, waiting: {status.Waiting}");
                await Task.Delay(200);
            }
            await job.CancelAsync();
        }
        finally
        {
            await after.StopAllSilosAsync();
            await after.DisposeAsync();
        }
    }
}
