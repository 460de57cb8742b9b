using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;

namespace FedGrains.Cluster.Tests;

[Collection(nameof(SharedCluster))]
public sealed class CompressionTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Quantized_uploads_cut_the_bytes_and_the_job_still_learns()
    {
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("compressed");
        var spec = TestCluster.SyntheticJob(rounds: 3, gateways: 4) with
        {
            Model = new FedGrains.Learning.Models.ModelSpec("mlp", [256]),
            Aggregation = new AggregationSpec { Compression = new CompressionSpec { Kind = "quantize", Bits = 8, MinSize = 1000 } },
        };

        await job.StartAsync(spec);
        Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);

        var history = await job.GetHistoryAsync();
        Assert.All(history, r =>
        {
            Assert.Equal(4, r.Participants.Count);
            Assert.True(r.BytesUp < 0.3 * r.BytesUpDense, $"round {r.Round}: {r.BytesUp} bytes up vs {r.BytesUpDense} dense");
        });
        Assert.True(history[^1].TestAccuracy > 0.6, $"accuracy {history[^1].TestAccuracy}");
    }
}

[Collection(nameof(SharedCluster))]
public sealed class PartialTrainingClusterTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Frozen_layers_keep_their_weights_and_are_not_uploaded()
    {
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("frozen");
        var spec = TestCluster.SyntheticJob(rounds: 2, gateways: 3) with { Model = new FedGrains.Learning.Models.ModelSpec("mlp", [64], Frozen: ["fc1"]) };

        var (initial, _) = FedGrains.Learning.Models.GlobalModel.Initial(spec.Model, [20], 4, spec.Seed);
        await job.StartAsync(spec);
        Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);

        var final = FedGrains.Learning.Models.WeightBuffer.Decode((await job.GetModelAsync()).Weights).Values;
        int frozen = 20 * 64 + 64;
        Assert.Equal(initial[..frozen], final[..frozen]);
        Assert.NotEqual(initial[frozen..], final[frozen..]);
        var history = await job.GetHistoryAsync();
        Assert.All(history, r => Assert.True(r.BytesUp < r.BytesUpDense - 3L * frozen * 4 + 3L * 200, $"{r.BytesUp} vs dense {r.BytesUpDense}"));
    }
}

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
            Assert.Equal(FedGrains.Learning.Privacy.RdpAccountant.Epsilon(0.5, 0.8, round, 1e-5), history[round - 1].CentralEpsilon!.Value, 9);
        Assert.All(history, r => Assert.Equal(2, r.Participants.Count));
    }
}
