using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Gateways;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Cluster.Tests.Sites;

/// <summary>
/// A site's lifetime cap on the site-level epsilon of secure sums (FedGrains:Site:Policy:LifetimeSecureSumEpsilon):
/// one secure job with distributed noise fits, the same job again would pass the cap and is refused up front by each
/// site's ledger, naming the setting and both figures; nothing of it is stored.
/// </summary>
public sealed class SecureSumBudgetTests
{
    private static JobSpec Job() => TestCluster.SyntheticJob(rounds: 2, gateways: 4) with
    {
        Gateways = [.. Enumerable.Range(1, 4).Select(i => new GatewaySpec { Id = $"g{i}", Site = $"sums-{i}" })],
        MinUpdatesPerRound = 2,
        Aggregation = new AggregationSpec { Secure = new SecureAggregationSpec { Enabled = true, Bits = 24, ClippingNorm = 10, NoiseMultiplier = 2 } },
    };

    [Fact]
    public async Task A_second_job_that_would_pass_the_sites_lifetime_secure_sum_budget_is_refused_up_front()
    {
        var spec = Job();
        var (shape, classes) = spec.Dataset.Geometry();
        var charge = PlannedWork.PlannedSecureSumCharge(spec, ModelSize.Parameters(spec.Model, shape, classes))!;
        var oneJob = RdpAccountant.Epsilon([charge], 1e-5);
        var twoJobs = RdpAccountant.Epsilon([charge, charge], 1e-5);
        double cap = (oneJob + twoJobs) / 2; // one job fits, two do not
        var cluster = await TestCluster.StartAsync(TestCluster.NewDatabasePath(), silos: 2,
            silo => silo.AddFedGrainsSite(new SiteOptions { Policy = new SitePolicyOptions { LifetimeSecureSumEpsilon = cap } }));
        try
        {
            var first = cluster.Client.GetGrain<IFederationGrain>("sums-1");
            await first.StartAsync(spec);
            var done = await TestCluster.WaitFinishedAsync(first);
            Assert.True(done.State == JobState.Completed, done.Error);

            var second = cluster.Client.GetGrain<IFederationGrain>("sums-2");
            var refused = await Assert.ThrowsAsync<ArgumentException>(() => second.StartAsync(spec));
            Assert.Contains("lifetime budget for secure sums", refused.Message);
            Assert.Contains("FedGrains:Site:Policy:LifetimeSecureSumEpsilon", refused.Message);
            Assert.Contains("site 'sums-1'", refused.Message);
            Assert.Null(await second.GetSpecAsync());
            // What the first job's sums cost is on each site's ledger, at the figure the cap was checked against.
            var report = await cluster.Client.GetGrain<ISiteLedgerGrain>("sums-1").GetReportAsync();
            Assert.InRange(report.SecureSumEpsilon!.Value, 0.99 * oneJob, 1.01 * oneJob);
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }
}
