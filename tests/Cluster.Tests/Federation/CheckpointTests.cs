using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Aggregation;

namespace FedGrains.Cluster.Tests.Federation;

[Collection(nameof(SharedCluster))]
public sealed class CheckpointTests(ClusterFixture fixture)
{
    /// <summary>
    /// The aggregation pipeline's state (adaptive clipping estimate, FedAdam moments) is checkpointed with every round:
    /// a federation torn down mid-job and re-activated from storage ends with exactly the model of a run that never
    /// stopped (same seed; noise seeded for the test).
    /// </summary>
    [Fact]
    public async Task A_federation_reactivated_mid_job_ends_with_the_same_model_as_an_uninterrupted_one()
    {
        var spec = TestCluster.SyntheticJob(rounds: 6, gateways: 4) with
        {
            Aggregation = new AggregationSpec
            {
                Rule = "trimmed_mean",
                TrimBeta = 0.25,
                Clipping = new NormStageSpec { Mode = "adaptive", Bound = 0.5, TargetQuantile = 0.5, LearningRate = 0.2 },
                ServerOptimizer = new ServerOptimizerSpec { Kind = "fedadam", LearningRate = 0.05 },
            },
        };
        var uninterrupted = fixture.Cluster.Client.GetGrain<IFederationGrain>("checkpoint-a");
        await uninterrupted.StartAsync(spec);
        Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(uninterrupted)).State);

        var interrupted = fixture.Cluster.Client.GetGrain<IFederationGrain>("checkpoint-b");
        await interrupted.StartAsync(spec);
        var before = await TestCluster.WaitAsync(interrupted, s => s.RoundsCompleted >= 2);
        await fixture.Cluster.DeactivateAsync(interrupted);
        Assert.True(before.RoundsCompleted < 6, "the federation must be torn down before the job ends");
        await interrupted.WakeAsync();
        var status = await TestCluster.WaitFinishedAsync(interrupted);

        Assert.Equal(JobState.Completed, status.State);
        var history = await interrupted.GetHistoryAsync();
        Assert.Equal(Enumerable.Range(1, 6), history.Select(r => r.Round));
        var a = await uninterrupted.GetModelAsync();
        var b = await interrupted.GetModelAsync();
        Assert.Equal(a.Version, b.Version);
        Assert.Equal(a.Weights, b.Weights);
        Assert.Equal((await uninterrupted.GetHistoryAsync()).Select(r => r.TestAccuracy), history.Select(r => r.TestAccuracy));
    }
}
