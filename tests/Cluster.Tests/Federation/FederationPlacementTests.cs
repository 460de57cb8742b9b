using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Federation;

/// <summary>
/// A job's federation (its state, the sites' noised deltas, the gateway keys it checks them with) never runs on a data
/// site's silo: found running the README's TLS walkthrough, where a federation placed on hospital-b's silo rejected
/// every update of hospital-a ("no site key"), and would have shown hospital-b hospital-a's deltas.
/// </summary>
public sealed class FederationPlacementTests
{
    [Fact]
    public async Task Federations_are_placed_only_on_silos_that_serve_no_site()
    {
        var builder = new InProcessTestClusterBuilder(3);
        var database = TestCluster.NewDatabasePath();
        builder.ConfigureSilo((options, silo) =>
        {
            bool primary = options.SiloName == TestCluster.PrimarySilo;
            silo.AddFedGrainsSqliteStorage(database);
            silo.AddFedGrains(new FedGrainsSiloOptions
            {
                HostsGateways = !primary, Site = primary ? null : $"hospital-{options.SiloName}",
                Device = "cpu", TorchThreads = 1, SeededNoiseForTests = true,
            });
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        try
        {
            var federationSilo = cluster.Silos.Single(s => s.Name == TestCluster.PrimarySilo).SiloAddress.ToString();
            // 24 activations: with placement that ignores sites, two thirds would land on a site's silo.
            var placed = await Task.WhenAll(Enumerable.Range(0, 24)
                .Select(i => cluster.Client.GetGrain<IFederationGrain>($"placed-{i}").GetStatusAsync()));
            Assert.All(placed, s => Assert.Equal(federationSilo, s.Silo));
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }
}
