using System.Globalization;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Data;
using FedGrains.Learning.Datasets;
using FedGrains.Learning.Jobs;
using FedGrains.Tests;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Gateway;

/// <summary>
/// A site's silo declares its datasets by name; a job names one and never a path. Silo_0 hosts the federation,
/// Silo_1 is site "ward" (its catalogue holds "ward-csv" and "ward-images", a folder of images that a test fills), Silo_2
/// serves any site.
/// </summary>
public sealed class SiteCatalogueTests : IAsyncLifetime
{
    private readonly string folder = Directory.CreateTempSubdirectory("fedgrains-catalogue-").FullName;
    private string Csv => Path.Combine(folder, "ward.csv");
    private string Images => Path.Combine(folder, "ward-images");
    private InProcessTestCluster cluster = null!;

    public async Task InitializeAsync()
    {
        var spec = TestCluster.SyntheticJob();
        var (train, _) = FederatedDataset.LoadShared(spec.Dataset, spec.Seed);
        var rows = train.Subset(Enumerable.Range(0, 700).ToArray());
        await File.WriteAllLinesAsync(Csv, Enumerable.Range(0, rows.Count).Select(i =>
            string.Join(",", rows.Features.Skip(i * rows.FeatureCount).Take(rows.FeatureCount).Select(f => f.ToString("R", CultureInfo.InvariantCulture))) + "," + rows.Labels[i]));
        var builder = new InProcessTestClusterBuilder(3);
        var database = TestCluster.NewDatabasePath();
        builder.ConfigureSilo((options, silo) =>
        {
            bool ward = options.SiloName == "Silo_1";
            silo.AddFedGrainsSqliteStorage(database);
            silo.AddFedGrains(new FedGrainsSiloOptions
            {
                HostsGateways = options.SiloName != TestCluster.PrimarySilo, Site = ward ? "ward" : null,
                Device = "cpu", TorchThreads = 1, SeededNoiseForTests = true, RoundTickMilliseconds = 20,
            });
            if (ward) silo.AddFedGrainsSite(new SiteOptions
            {
                Datasets = { ["ward-csv"] = new SiteSource { Csv = Csv }, ["ward-images"] = new SiteSource { Folder = Images } },
            });
        });
        cluster = builder.Build();
        await cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await cluster.DisposeAsync();
        Directory.Delete(folder, true);
    }

    private static JobSpec Job(SiteSource source) => TestCluster.SyntheticJob(rounds: 2, gateways: 2) with
    {
        GatewayCount = 0,
        Gateways = [new GatewaySpec { Id = "shared" }, new GatewaySpec { Id = "w", Site = "ward", Source = source }],
    };

    [Fact]
    public async Task A_job_names_a_sites_dataset_and_the_gateway_on_the_sites_silo_reads_it()
    {
        var job = cluster.Client.GetGrain<IFederationGrain>("named");

        await job.StartAsync(Job(new SiteSource { Dataset = "ward-csv" }));
        var status = await TestCluster.WaitFinishedAsync(job);

        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(4000 + 700, (await job.GetHistoryAsync())[0].Examples); // the shared gateway's 4,000, plus the ward's 700 rows
        var ward = cluster.Silos.Single(s => s.Name == "Silo_1").SiloAddress.ToString();
        Assert.Equal(ward, (await job.GetGatewaysAsync()).Single(g => g.GatewayId == "w").Silo);
        Assert.DoesNotContain(Csv, (await job.GetSpecAsync())!.ToString()); // the path stays in the site's configuration
    }

    // The first 600 Fashion-MNIST training images as PNG files in the ward's folder, class folder by label.
    private async Task WriteWardImagesAsync()
    {
        var (pixels, _, _, _) = IdxReader.ReadImages(Path.Combine(FashionMnist.DebianPackageDirectory, "train-images-idx3-ubyte.gz"));
        var labels = IdxReader.ReadLabels(Path.Combine(FashionMnist.DebianPackageDirectory, "train-labels-idx1-ubyte.gz"));
        for (int i = 0; i < 600; i++)
        {
            var bytes = pixels.AsSpan(i * 784, 784).ToArray().Select(p => (byte)Math.Round(p * 255)).ToArray();
            ImageFiles.Write(Path.Combine(Images, labels[i].ToString(CultureInfo.InvariantCulture), $"patient-{i:D4}.png"), ImageFiles.Gray(28, 28, bytes));
        }
        await File.WriteAllTextAsync(Path.Combine(Images, ".index"), "hidden: skipped");
    }

    // A linear model on Fashion-MNIST trained by the ward's gateway alone, evaluated on the shared test set.
    private static JobSpec ImagesJob() => TestCluster.SyntheticJob(rounds: 2) with
    {
        GatewayCount = 0,
        Model = new Learning.Models.ModelSpec("mlp", []),
        Dataset = new DatasetSpec(),
        Gateways = [new GatewaySpec { Id = "w", Site = "ward", Source = new SiteSource { Dataset = "ward-images" } }],
    };

    [Fact]
    public async Task A_job_names_a_sites_folder_of_images_and_the_gateway_on_the_sites_silo_trains_on_them()
    {
        await WriteWardImagesAsync();
        var job = cluster.Client.GetGrain<IFederationGrain>("images");

        await job.StartAsync(ImagesJob());
        var status = await TestCluster.WaitFinishedAsync(job);

        Assert.Equal(JobState.Completed, status.State);
        var history = await job.GetHistoryAsync();
        Assert.Equal(600, history[0].Examples);
        Assert.True(history[^1].TestAccuracy > 0.3, $"test accuracy {history[^1].TestAccuracy} (chance 0.1)");
        var ward = cluster.Silos.Single(s => s.Name == "Silo_1").SiloAddress.ToString();
        Assert.Equal(ward, (await job.GetGatewaysAsync()).Single(g => g.GatewayId == "w").Silo);
    }

    [Fact]
    public async Task An_image_of_the_wrong_size_in_a_declared_folder_is_refused_at_submission_by_its_class_folder_and_position_not_its_name()
    {
        await WriteWardImagesAsync();
        ImageFiles.Write(Path.Combine(Images, "3", "patient-0000-31337.png"), ImageFiles.Gray(32, 32, new byte[32 * 32]));
        var job = cluster.Client.GetGrain<IFederationGrain>("images-wrong-size");

        var e = await Assert.ThrowsAsync<ArgumentException>(() => job.StartAsync(ImagesJob()));

        Assert.StartsWith("gateway 'w' of site 'ward': site dataset 'ward-images' (FedGrains:Site:Datasets:ward-images:Folder): file 1 (in name order) of class folder '3' is 32x32 pixels, but the job's dataset has images of 28x28", e.Message);
        Assert.DoesNotContain(folder, e.Message);
        Assert.DoesNotContain("patient", e.Message);
        Assert.Null(await job.GetSpecAsync());
    }

    [Fact]
    public async Task An_unknown_dataset_is_refused_at_submission_with_the_names_the_site_offers_and_nothing_is_stored()
    {
        var job = cluster.Client.GetGrain<IFederationGrain>("unknown-name");

        var e = await Assert.ThrowsAsync<ArgumentException>(() => job.StartAsync(Job(new SiteSource { Dataset = "oncology" })));

        Assert.Contains("site 'ward' offers no dataset 'oncology'; it offers ward-csv, ward-images", e.Message);
        Assert.DoesNotContain(folder, e.Message);
        Assert.Null(await job.GetSpecAsync());
    }

    [Fact]
    public async Task A_broken_file_of_a_declared_dataset_is_refused_at_submission_by_the_datasets_name_without_its_path_or_contents()
    {
        // This test's own cluster: the ward's file turns bad before any job read it.
        await File.WriteAllTextAsync(Csv, "31337.4242,NaN,1\n");
        var job = cluster.Client.GetGrain<IFederationGrain>("broken-dataset");

        var e = await Assert.ThrowsAsync<ArgumentException>(() => job.StartAsync(Job(new SiteSource { Dataset = "ward-csv" })));

        Assert.StartsWith("gateway 'w' of site 'ward': site dataset 'ward-csv' (FedGrains:Site:Datasets:ward-csv:Csv):1: column 2 is not a finite number", e.Message);
        Assert.DoesNotContain(folder, e.Message);
        Assert.DoesNotContain("31337.4242", e.Message);
        Assert.Null(await job.GetSpecAsync());
    }

    [Fact]
    public async Task A_spec_that_names_a_path_at_a_site_is_refused_even_when_the_file_exists()
    {
        var job = cluster.Client.GetGrain<IFederationGrain>("path");

        var e = await Assert.ThrowsAsync<ArgumentException>(() => job.StartAsync(Job(new SiteSource { Csv = Csv })));

        Assert.Contains("site 'ward' reads no paths from a job spec; name one of its datasets in gateways[].source.dataset: ward-csv, ward-images", e.Message);
        Assert.Null(await job.GetSpecAsync());
    }

    [Fact]
    public async Task A_gateway_a_client_got_activated_on_the_wrong_silo_steps_aside_and_the_job_runs_it_at_its_site()
    {
        // Naming a site with no silo sends the activation to the silo that serves any site; the call itself is refused.
        RequestContext.Set(Grains.Placement.SiteCalls.RequestContextKey, "nowhere");
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => cluster.Client.GetGrain<IGatewayGrain>(IGatewayGrain.Key("misplaced", "w")).GetSiloAsync());
        RequestContext.Clear();
        var job = cluster.Client.GetGrain<IFederationGrain>("misplaced");

        await job.StartAsync(Job(new SiteSource { Dataset = "ward-csv" }));

        Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);
        var ward = cluster.Silos.Single(s => s.Name == "Silo_1").SiloAddress.ToString();
        Assert.Equal(ward, (await job.GetGatewaysAsync()).Single(g => g.GatewayId == "w").Silo);
    }

    [Fact]
    public async Task A_site_silo_without_a_policy_still_refuses_training_without_noise_and_a_data_folder_from_the_spec()
    {
        var noNoise = cluster.Client.GetGrain<IFederationGrain>("no-noise");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => noNoise.StartAsync(Job(new SiteSource { Dataset = "ward-csv" }) with
        {
            Privacy = new Learning.Privacy.PrivacySpec { NoiseLevel = "none" },
        }));
        Assert.Contains("site ward refuses job no-noise", e.Message);
        Assert.Contains("none", e.Message);

        var folder = cluster.Client.GetGrain<IFederationGrain>("data-dir");
        var spec = Job(new SiteSource { Dataset = "ward-csv" });
        var f = await Assert.ThrowsAsync<ArgumentException>(() => folder.StartAsync(spec with { Dataset = spec.Dataset with { DataDir = "/etc" } }));
        Assert.Contains("reads no paths from a job spec (dataset.data_dir)", f.Message);
    }
}
