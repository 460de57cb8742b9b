using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Federation;

public sealed class ClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await TestCluster.StartAsync(TestCluster.NewDatabasePath());

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(nameof(SharedCluster))]
public sealed class SharedCluster : ICollectionFixture<ClusterFixture>;

[Collection(nameof(SharedCluster))]
public sealed class FederationTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Cluster.Client;

    [Fact]
    public async Task Gateways_are_placed_only_on_silos_tagged_as_gateway_hosts()
    {
        var hosts = fixture.Cluster.Silos.Where(s => s.Name != TestCluster.PrimarySilo).Select(s => s.SiloAddress.ToString()).ToHashSet();
        var primary = fixture.Cluster.Silos.Single(s => s.Name == TestCluster.PrimarySilo).SiloAddress.ToString();

        var placed = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            fixture.Cluster.Grains().GetGrain<IGatewayGrain>(IGatewayGrain.Key("placement", $"gw-{i}")).GetSiloAsync()));

        Assert.All(placed, silo => Assert.Contains(silo, hosts));
        Assert.DoesNotContain(primary, placed);
    }

    [Fact]
    public async Task A_three_round_private_job_completes_and_learns()
    {
        var job = Grains.GetGrain<IFederationGrain>("three-rounds");
        var spec = TestCluster.SyntheticJob(rounds: 3);

        await job.StartAsync(spec);
        var status = await TestCluster.WaitFinishedAsync(job);

        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(3, status.RoundsCompleted);
        var history = await job.GetHistoryAsync();
        Assert.Equal([1, 2, 3], history.Select(r => r.Round));
        Assert.All(history, r => Assert.Equal(4, r.Participants.Count));
        Assert.True(history[^1].TestAccuracy > 0.6, $"accuracy {history[^1].TestAccuracy} should be well above chance (0.25)");

        var ledgers = await job.GetGatewayPrivacyAsync();
        Assert.Equal(4, ledgers.Count);
        foreach (var ledger in ledgers)
        {
            Assert.NotNull(ledger.Epsilon);
            Assert.InRange(ledger.Epsilon!.Value, 0.5, spec.Privacy.TargetEpsilon);
            // The ledger's own numbers reproduce its epsilon through the accountant.
            Assert.Equal(ledger.Epsilon.Value, PrvAccountant.Epsilon(ledger.SampleRate, ledger.NoiseMultiplier, ledger.Steps, ledger.Delta), 9);
            Assert.Equal(history[^1].Privacy.Single(p => p.GatewayId == ledger.GatewayId).Epsilon!.Value, ledger.Epsilon.Value, 9);
        }
        var model = await job.GetModelAsync();
        Assert.Equal(3, model.Version);
    }

    [Fact]
    public async Task Per_gateway_overrides_are_honoured()
    {
        var job = Grains.GetGrain<IFederationGrain>("overrides");
        var spec = TestCluster.SyntheticJob(rounds: 1, gateways: 3) with
        {
            Gateways =
            [
                new GatewaySpec { Id = "plain" },
                new GatewaySpec { Id = "small-batch", Overrides = new HyperParameterOverrides { BatchSize = 20 } },
                new GatewaySpec { Id = "fixed-noise", Overrides = new HyperParameterOverrides { NoiseMultiplier = 5.0 } },
            ],
        };

        await job.StartAsync(spec);
        Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);

        var privacy = (await job.GetGatewayPrivacyAsync()).ToDictionary(p => p.GatewayId);
        int perGateway = 4000 / 3;
        Assert.Equal(100.0 / perGateway, privacy["plain"].SampleRate, 6);
        Assert.Equal(20.0 / perGateway, privacy["small-batch"].SampleRate, 6);
        Assert.Equal(5.0, privacy["fixed-noise"].NoiseMultiplier);
        // Calibrated noise depends on the sample rate; the fixed one is what the override says.
        Assert.NotEqual(privacy["plain"].NoiseMultiplier, privacy["small-batch"].NoiseMultiplier);
        Assert.Equal((long)Math.Ceiling(perGateway / 20.0), privacy["small-batch"].Steps);
    }

    [Fact]
    public async Task A_malformed_spec_is_refused_with_the_field_named_and_nothing_is_stored()
    {
        var job = Grains.GetGrain<IFederationGrain>("bad-spec");
        var spec = TestCluster.SyntheticJob() with { Rounds = 0, Privacy = new PrivacySpec { Delta = 2 } };

        var error = await Assert.ThrowsAnyAsync<Exception>(() => job.StartAsync(spec));

        Assert.Contains("rounds", error.Message);
        Assert.Contains("privacy.delta", error.Message);
        Assert.Null(await job.GetSpecAsync());
        Assert.Equal(JobState.NotStarted, (await job.GetStatusAsync()).State);
    }

    [Fact]
    public async Task A_cancelled_job_stops_and_keeps_its_completed_rounds()
    {
        var job = Grains.GetGrain<IFederationGrain>("cancel-me");
        await job.StartAsync(TestCluster.SyntheticJob(rounds: 200));
        await TestCluster.WaitAsync(job, s => s.RoundsCompleted >= 1);

        var cancelled = await job.CancelAsync();

        Assert.Equal(JobState.Cancelled, cancelled.State);
        var history = await job.GetHistoryAsync();
        Assert.Equal(Enumerable.Range(1, history.Count), history.Select(r => r.Round));
        Assert.True(history.Count < 200);
    }
}
