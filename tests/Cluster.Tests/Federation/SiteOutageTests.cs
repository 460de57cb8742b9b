using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Federation;

/// <summary>A job whose only site goes offline for a while: Silo_0 hosts the federation, Silo_1 is site "solo".</summary>
public sealed class SiteOutageTests : IAsyncLifetime
{
    private InProcessTestCluster cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        var database = TestCluster.NewDatabasePath();
        builder.ConfigureSilo((options, silo) =>
        {
            silo.AddFedGrainsSqliteStorage(database);
            silo.AddFedGrains(new FedGrainsSiloOptions
            {
                HostsGateways = options.SiloName != TestCluster.PrimarySilo, Site = options.SiloName != TestCluster.PrimarySilo ? "solo" : null,
                Device = "cpu", TorchThreads = 1, SeededNoiseForTests = true, RoundTickMilliseconds = 20,
            });
        });
        cluster = builder.Build();
        await cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await cluster.DisposeAsync();

    [Fact]
    public async Task Rounds_wait_with_backoff_while_the_site_is_offline_and_the_job_completes_when_it_is_back()
    {
        var job = cluster.Client.GetGrain<IFederationGrain>("outage");
        await job.StartAsync(TestCluster.SyntheticJob(rounds: 6, gateways: 1) with { GatewayCount = 0, Gateways = [new GatewaySpec { Id = "g", Site = "solo" }] });
        await TestCluster.WaitAsync(job, s => s.RoundsCompleted >= 2);

        var site = cluster.Silos.Single(s => s.Name != TestCluster.PrimarySilo);
        await cluster.StopSiloAsync(site);
        await Task.Delay(TimeSpan.FromSeconds(4)); // a round would have failed three times in well under a second
        Assert.Equal(JobState.Running, (await job.GetStatusAsync()).State);
        await cluster.StartAdditionalSiloAsync(); // the site's silo is back (every silo but the primary serves "solo")
        var end = await TestCluster.WaitAsync(job, s => s.State != JobState.Running, TimeSpan.FromMinutes(2));

        Assert.True(end.State == JobState.Completed, $"{end.State}: {end.Error}");
        Assert.Equal(Enumerable.Range(1, 6), (await job.GetHistoryAsync()).Select(r => r.Round));
        Assert.Equal(6, (await cluster.Client.GetGrain<ISiteLedgerGrain>("solo").GetReportAsync()).Jobs.Single().Releases); // one release a round, none lost or doubled
    }
}
