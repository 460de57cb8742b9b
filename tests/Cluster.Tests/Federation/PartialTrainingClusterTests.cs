using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Federation;

namespace FedGrains.Cluster.Tests.Federation;

[Collection(nameof(SharedCluster))]
public sealed class PartialTrainingClusterTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Frozen_layers_keep_their_weights_and_are_not_uploaded()
    {
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("frozen");
        var spec = TestCluster.SyntheticJob(rounds: 2, gateways: 3) with { Model = new FedGrains.Learning.Models.ModelSpec("mlp", [64], Frozen: ["fc1"]) };

        var (initial, _) = FedGrains.Learning.Federation.GlobalModel.Initial(spec.Model, [20], 4, spec.Seed);
        await job.StartAsync(spec);
        Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);

        var final = FedGrains.Learning.Codecs.WeightBuffer.Decode((await job.GetModelAsync()).Weights).Values;
        int frozen = 20 * 64 + 64;
        Assert.Equal(initial[..frozen], final[..frozen]);
        Assert.NotEqual(initial[frozen..], final[frozen..]);
        var history = await job.GetHistoryAsync();
        Assert.All(history, r => Assert.True(r.BytesUp < r.BytesUpDense - 3L * frozen * 4 + 3L * 200, $"{r.BytesUp} vs dense {r.BytesUpDense}"));
    }
}
