using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Codecs;

namespace FedGrains.Cluster.Tests.Federation;

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
