using System.Globalization;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Data;
using FedGrains.Learning.Jobs;

namespace FedGrains.Cluster.Tests;

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
}
