using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Jobs;

namespace FedGrains.Cluster.Tests.Federation;

[Collection(nameof(SharedCluster))]
public sealed class PublicPretrainingClusterTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Model_version_0_is_trained_on_the_public_data_and_the_gateways_train_on_the_rest()
    {
        var spec = TestCluster.SyntheticJob(rounds: 1, gateways: 2) with
        {
            Dataset = TestCluster.SyntheticJob(rounds: 1, gateways: 2).Dataset with { PublicExamples = 500 },
            PublicPretraining = new Learning.Training.PublicPretrainingSpec { Epochs = 3 },
        };
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("public-pretraining");

        await job.StartAsync(spec);
        Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);

        var data = JobData.Load(spec);
        var (x, y) = data.Test.ToTensors();
        var (seeded, _) = GlobalModel.Initial(spec.Model, data.ExampleShape, data.Classes, spec.Seed);
        var version0 = WeightBuffer.Decode((await job.GetModelVersionAsync(0)).Weights).Values;
        double before = GlobalModel.Evaluate(spec.Model, seeded, x, y, data.Classes).Accuracy;
        double pretrained = GlobalModel.Evaluate(spec.Model, version0, x, y, data.Classes).Accuracy;
        Assert.True(pretrained > before + 0.2, $"seeded start {before:P1}, pretrained version 0 {pretrained:P1}");
        var history = await job.GetHistoryAsync();
        Assert.Equal(4000 - 500, history[0].Examples); // each gateway's epoch covers its share of the non-public examples
    }
}
