using System.Security.Cryptography;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Placement;
using FedGrains.Grains.Security;
using FedGrains.Learning.Jobs;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Sites;

/// <summary>
/// A client that sets the site in its own request context, as any client can, to have site st-a's gateway activated
/// on site st-b's silo: placement runs before the access filter refuses the call, so the site must count only with a
/// silo's proof. Silo_0: the federation; Silo_1: site st-a; Silo_2: site st-b; authentication on.
/// </summary>
public sealed class SiteSteeringTests
{
    [Fact]
    public async Task A_site_named_by_a_client_does_not_place_a_gateway_and_the_federations_calls_still_place_each_on_its_site()
    {
        var operatorKey = new ClientCredential("operator", RandomNumberGenerator.GetBytes(32));
        var auth = new AuthOptions
        {
            Enabled = true,
            ClusterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            GatewayKeys = { ["a"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), ["b"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) },
            ClientKeys = { ["operator"] = Convert.ToBase64String(operatorKey.Secret) },
            ClientRoles = { ["operator"] = "operator" },
        };
        var database = TestCluster.NewDatabasePath();
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((options, silo) =>
        {
            string? site = options.SiloName switch { "Silo_1" => "st-a", "Silo_2" => "st-b", _ => null };
            silo.AddFedGrainsSqliteStorage(database);
            silo.AddFedGrains(new FedGrainsSiloOptions
            {
                HostsGateways = site is not null, Site = site, Device = "cpu", TorchThreads = 1, SeededNoiseForTests = true, RoundTickMilliseconds = 20,
            }, auth);
            if (site is not null) silo.AddFedGrainsSite(new SiteOptions());
        });
        builder.ConfigureClient(client => client.AddOutgoingGrainCallFilter(new ClientSigningFilter(operatorKey, TimeProvider.System)));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        try
        {
            // Placed as a call without a site: no silo serves any site, so nothing is activated anywhere.
            RequestContext.Set(SiteCalls.RequestContextKey, "st-b");
            var steered = await Assert.ThrowsAnyAsync<Exception>(() => cluster.Client.GetGrain<IGatewayGrain>(IGatewayGrain.Key("steer", "a")).GetPrivacyAsync());
            RequestContext.Clear();
            Assert.Contains("no silo serves this grain's site (it was called without one)", steered.Message);

            var job = cluster.Client.GetGrain<IFederationGrain>("steer");
            await job.StartAsync(TestCluster.SyntheticJob(rounds: 1, gateways: 2) with
            {
                Gateways = [new GatewaySpec { Id = "a", Site = "st-a" }, new GatewaySpec { Id = "b", Site = "st-b" }],
            });
            var status = await TestCluster.WaitFinishedAsync(job);
            Assert.True(status.State == JobState.Completed, status.Error);
            var silos = cluster.Silos.ToDictionary(s => s.Name, s => s.SiloAddress.ToString());
            var placed = (await job.GetGatewaysAsync()).ToDictionary(g => g.GatewayId, g => g.Silo);
            Assert.Equal((silos["Silo_1"], silos["Silo_2"]), (placed["a"], placed["b"]));
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }
}
