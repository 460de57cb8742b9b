using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Sites;

/// <summary>
/// At submission every site is asked, and the answer names every reason: a site's policy refusal is final (a retry
/// would be refused again), so it is told even when another of the job's sites is offline, whichever gateway comes
/// first. Silo_0: the federation; Silo_1: site adm-a only, at most epsilon 2 per job; no silo serves adm-b.
/// </summary>
public sealed class AdmissionRefusalTests
{
    [Fact]
    public async Task A_sites_policy_refusal_is_told_even_when_another_site_is_offline_and_an_offline_site_alone_is_named_with_what_to_do()
    {
        var database = TestCluster.NewDatabasePath();
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((options, silo) =>
        {
            bool siteA = options.SiloName == "Silo_1";
            silo.AddFedGrainsSqliteStorage(database);
            silo.AddFedGrains(new FedGrainsSiloOptions
            {
                HostsGateways = siteA, Site = siteA ? "adm-a" : null,
                Device = "cpu", TorchThreads = 1, SeededNoiseForTests = true, RoundTickMilliseconds = 20,
            });
            if (siteA) silo.AddFedGrainsSite(new SiteOptions { Policy = new SitePolicyOptions { MaxEpsilonPerJob = 2 } });
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        try
        {
            // The offline site's gateway first: its failure used to hide the other site's refusal.
            JobSpec Job(double epsilon) => TestCluster.SyntheticJob(rounds: 2, gateways: 2) with
            {
                Gateways = [new GatewaySpec { Id = "b", Site = "adm-b" }, new GatewaySpec { Id = "a", Site = "adm-a" }],
                Privacy = new Learning.Privacy.PrivacySpec { TargetEpsilon = epsilon, Delta = 1e-5 },
            };

            var greedy = cluster.Client.GetGrain<IFederationGrain>("adm-greedy");
            var refused = await Assert.ThrowsAsync<ArgumentException>(() => greedy.StartAsync(Job(epsilon: 5)));
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(refused.Message, @"^site adm-a refuses job adm-greedy: planned epsilon [\d.]+ for the whole job \(delta [^)]+\) is above the site's maximum 2.0 per job \(FedGrains:Site:Policy:MaxEpsilonPerJob\)\.$"), refused.Message);
            Assert.Null(await greedy.GetSpecAsync());

            var fits = cluster.Client.GetGrain<IFederationGrain>("adm-fits");
            var offline = await Assert.ThrowsAsync<InvalidOperationException>(() => fits.StartAsync(Job(epsilon: 1.5)));
            Assert.Equal("job 'adm-fits' refused up front, nothing was stored: site 'adm-b' is offline: no silo that serves it is up; start the site's silo and submit again.", offline.Message);
            Assert.Null(await fits.GetSpecAsync());
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }
}
