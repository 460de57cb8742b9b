using FedGrains.Cluster.Tests.Federation;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Privacy;

namespace FedGrains.Cluster.Tests.Gateway;

/// <summary>What gateways release besides DP-SGD deltas: locally privatised updates and training metrics.</summary>
[Collection(nameof(SharedCluster))]
public sealed class ReleaseTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Without_noised_metrics_no_training_loss_leaves_a_gateway()
    {
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("release-plain");
        await job.StartAsync(TestCluster.SyntheticJob(rounds: 2, gateways: 2));
        Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);

        Assert.All(await job.GetHistoryAsync(), r => Assert.True(double.IsNaN(r.TrainLoss)));
        Assert.All(await job.GetGatewayPrivacyAsync(), l => Assert.Equal((0L, (double?)null), (l.MetricReleases, l.UpdateEpsilon)));
    }

    [Fact]
    public async Task Local_update_dp_and_noised_metrics_are_released_accounted_and_within_budget()
    {
        var spec = TestCluster.SyntheticJob(rounds: 3, gateways: 2) with
        {
            Privacy = new PrivacySpec
            {
                TargetEpsilon = 3,
                Delta = 1e-5,
                LocalUpdateDp = new UpdateDpSpec { Enabled = true, ClippingNorm = 1.0, NoiseMultiplier = 0.01 },
                TrainMetrics = new TrainMetricsSpec { Mode = "noised", NoiseMultiplier = 50, LossBound = 5 },
            },
        };
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("release-private");
        await job.StartAsync(spec);
        var status = await TestCluster.WaitFinishedAsync(job);

        Assert.True(status.State == JobState.Completed, status.Error);
        var history = await job.GetHistoryAsync();
        Assert.All(history, r => Assert.InRange(r.TrainLoss, 0, 5));
        Assert.InRange(history[^1].TestAccuracy, 0.5, 1.0);
        foreach (var l in await job.GetGatewayPrivacyAsync())
        {
            Assert.Equal(3, l.MetricReleases);
            // Example level: DP-SGD steps and the three loss releases together, within the target.
            double composed = PrivacyAccountants.Get("prv").Epsilon([new PrivacyCharge(l.SampleRate, l.NoiseMultiplier, l.Steps), PrivateLoss.Charge(50, 3)], 1e-5);
            Assert.Equal(composed, l.Epsilon!.Value, 9);
            Assert.InRange(l.Epsilon.Value, 2.9, 3.0);
            // Site level: three updates with z = 0.01 protect a whole site hardly at all, and the report says so in numbers.
            Assert.Equal(PrivacyAccountants.Get("prv").Epsilon([UpdateDp.Charge(0.01, 3)], 1e-5), l.UpdateEpsilon!.Value, 9);
            Assert.True(l.UpdateEpsilon > 100);
        }
        // The site ledger holds the metric releases too.
        var site = await fixture.Cluster.Client.GetGrain<ISiteLedgerGrain>("gw-00").GetReportAsync();
        var run = site.Jobs.Single(j => j.JobId == "release-private");
        Assert.Equal((await job.GetGatewayPrivacyAsync()).Single(l => l.GatewayId == "gw-00").Epsilon!.Value, run.Epsilon, 6);
    }
}
