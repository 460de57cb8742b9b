using System.Globalization;
using FedGrains.Cluster.Tests.Federation;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Data;
using FedGrains.Learning.Datasets;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Training;

namespace FedGrains.Cluster.Tests.Gateway;

[Collection(nameof(SharedCluster))]
public sealed class SiteDataTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_gateway_with_its_own_csv_trains_on_it_next_to_gateways_sharing_the_dataset()
    {
        // The site's file: examples of the same synthetic task (same seed as the job), written as CSV.
        var spec = TestCluster.SyntheticJob(rounds: 2, gateways: 3);
        var (train, _) = FederatedDataset.LoadShared(spec.Dataset, spec.Seed);
        var rows = train.Subset(Enumerable.Range(0, 700).ToArray());
        var csv = Path.Combine(Directory.CreateTempSubdirectory("fedgrains-site-").FullName, "site.csv");
        await File.WriteAllLinesAsync(csv, Enumerable.Range(0, rows.Count).Select(i =>
            string.Join(",", rows.Features.Skip(i * rows.FeatureCount).Take(rows.FeatureCount).Select(f => f.ToString("R", CultureInfo.InvariantCulture)))
            + "," + rows.Labels[i]));
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("site-csv");

        await job.StartAsync(spec with
        {
            Gateways = [new GatewaySpec { Id = "shared-a" }, new GatewaySpec { Id = "shared-b" }, new GatewaySpec { Id = "hospital", Source = new SiteSource { Csv = csv } }],
        });
        var status = await TestCluster.WaitFinishedAsync(job);

        Assert.Equal(JobState.Completed, status.State);
        var history = await job.GetHistoryAsync();
        Assert.All(history, r => Assert.Equal(3, r.Participants.Count));
        Assert.Equal(4000 + 700, history[0].Examples); // the shared set split in two, plus the site's 700 rows
        var hospital = (await job.GetGatewayPrivacyAsync()).Single(p => p.GatewayId == "hospital");
        Assert.Equal(100.0 / 700, hospital.SampleRate, 9);
    }

    [Fact]
    public async Task Sites_with_their_own_images_train_a_linear_model_on_their_ScatterNet_features()
    {
        // Two sites, each with 1,500 Fashion-MNIST training images of its own as idx files (the raw bytes).
        var (train, _) = FashionMnist.Load(null);
        var dir = Directory.CreateTempSubdirectory("fedgrains-scatter-sites-").FullName;
        var gateways = new List<GatewaySpec>();
        for (int site = 0; site < 2; site++)
        {
            var rows = train.Subset(Enumerable.Range(site * 1500, 1500).ToArray());
            var pixels = rows.Features.Select(v => (byte)Math.Clamp(MathF.Round((v * FashionMnist.PixelStd + FashionMnist.PixelMean) * 255), 0, 255)).ToArray();
            var images = FedGrains.Tests.IdxFiles.Write(Path.Combine(dir, $"site{site}-images"), 0x803, [1500, 28, 28], pixels);
            var labels = FedGrains.Tests.IdxFiles.Write(Path.Combine(dir, $"site{site}-labels"), 0x801, [1500], rows.Labels.Select(l => (byte)l).ToArray());
            gateways.Add(new GatewaySpec { Id = $"clinic-{site}", Source = new SiteSource { Images = images, Labels = labels } });
        }
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("scatter-sites");

        await job.StartAsync(new JobSpec
        {
            Rounds = 3,
            Gateways = gateways,
            Model = new Learning.Models.ModelSpec("mlp", []),
            Dataset = new DatasetSpec { Kind = "fashion-mnist", Features = "scattering" },
            Defaults = new HyperParameters { LearningRate = 2.0, BatchSize = 256, ClippingNorm = 1.0 },
        });
        var status = await TestCluster.WaitFinishedAsync(job);

        Assert.Equal(JobState.Completed, status.State);
        var history = await job.GetHistoryAsync();
        Assert.Equal(3000, history[0].Examples);
        // A linear model on 3,969 scattering features per image, evaluated on the 10,000 test images' features.
        var model = Learning.Codecs.WeightBuffer.Decode((await job.GetModelAsync()).Weights).Values;
        Assert.Equal(81 * 7 * 7 * 10 + 10, model.Length);
        Assert.True(history[^1].TestAccuracy > 0.6, $"test accuracy {history[^1].TestAccuracy} (chance 0.1)");
        Assert.All(await job.GetGatewayPrivacyAsync(), p => Assert.InRange(p.Epsilon ?? double.NaN, 0.1, 3.0));
    }
}
