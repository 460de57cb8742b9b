using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Aggregation;

namespace FedGrains.Cluster.Tests.Federation;

[Collection(nameof(SharedCluster))]
public sealed class CentralDpClusterTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_central_dp_job_reports_the_site_level_epsilon_its_accountant_gives()
    {
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("central-dp");
        var spec = TestCluster.SyntheticJob(rounds: 3, gateways: 4) with
        {
            CohortSize = 2,
            MinUpdatesPerRound = 2,
            Aggregation = new AggregationSpec
            {
                Clipping = new NormStageSpec { Mode = "adaptive", Bound = 0.5, TargetQuantile = 0.5, LearningRate = 0.2 },
                CentralDp = new CentralDpSpec { Enabled = true, NoiseMultiplier = 0.8, CountNoise = 1.0 },
            },
        };

        await job.StartAsync(spec);
        Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);

        var history = await job.GetHistoryAsync();
        for (int round = 1; round <= 3; round++)
            Assert.Equal(FedGrains.Learning.Privacy.PrvAccountant.Epsilon(0.5, 0.8, round, 1e-5), history[round - 1].CentralEpsilon!.Value, 9);
        Assert.All(history, r => Assert.Equal(2, r.Participants.Count));
    }
}
