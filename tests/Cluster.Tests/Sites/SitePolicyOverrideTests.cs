using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;

namespace FedGrains.Cluster.Tests.Sites;

/// <summary>
/// The site's policy is checked again where a federation could skip the submission check: a direct join is refused,
/// and a gateway that joined before its site tightened the policy refuses to train, spending nothing.
/// </summary>
public sealed class SitePolicyOverrideTests
{
    private static readonly SiteOptions Strict = new() { Policy = new SitePolicyOptions { MinNoiseMultiplier = 0.8 } };

    private static JobSpec LowNoise => TestCluster.SyntheticJob(rounds: 2, gateways: 2) with
    {
        Gateways = [new GatewaySpec { Id = "a", Site = "override-a" }, new GatewaySpec { Id = "b", Site = "override-b" }],
        Defaults = TestCluster.SyntheticJob().Defaults with { NoiseMultiplier = 0.5 },
        Privacy = new Learning.Privacy.PrivacySpec { TargetEpsilon = 50 },
    };

    private const string Refusal = "site override-a refuses job direct: noise multiplier 0.5 is below the site's minimum 0.8 (FedGrains:Site:Policy:MinNoiseMultiplier).";

    [Fact]
    public async Task A_join_sent_straight_to_a_gateway_is_refused_by_its_silos_policy()
    {
        var cluster = await TestCluster.StartAsync(TestCluster.NewDatabasePath(), silos: 2, silo => silo.AddFedGrainsSite(Strict));
        try
        {
            var gateway = cluster.Grains().GetGrain<IGatewayGrain>(IGatewayGrain.Key("direct", "a"));
            var refused = await Assert.ThrowsAsync<ArgumentException>(() => gateway.JoinAsync(LowNoise));
            Assert.Equal(Refusal, refused.Message);
            // Nothing was stored: the gateway has not joined, so it will not train.
            var train = await Assert.ThrowsAsync<InvalidDataException>(() => gateway.TrainAsync(new RoundTask(1, 0, [])));
            Assert.Contains("the state of gateway 'a' of job 'direct' is missing", train.Message);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_gateway_joined_before_the_site_tightened_its_policy_refuses_to_train_and_spends_nothing()
    {
        var database = TestCluster.NewDatabasePath();
        var before = await TestCluster.StartAsync(database, silos: 2);
        try
        {
            await before.Grains().GetGrain<IGatewayGrain>(IGatewayGrain.Key("direct", "a")).JoinAsync(LowNoise);
        }
        finally
        {
            await before.StopAllSilosAsync();
            await before.DisposeAsync();
        }

        var after = await TestCluster.StartAsync(database, silos: 2, silo => silo.AddFedGrainsSite(Strict));
        try
        {
            var gateway = after.Grains().GetGrain<IGatewayGrain>(IGatewayGrain.Key("direct", "a"));
            var update = await gateway.TrainAsync(new RoundTask(1, 0, []));
            Assert.Null(update.Delta);
            Assert.Equal(Refusal, update.RefusedReason);
            Assert.Null(await gateway.GetPrivacyAsync());
            Assert.Empty((await after.Client.GetGrain<ISiteLedgerGrain>("override-a").GetReportAsync()).Jobs);
        }
        finally
        {
            await after.StopAllSilosAsync();
            await after.DisposeAsync();
        }
    }
}
