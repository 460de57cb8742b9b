using FedGrains.Cluster.Tests.Federation;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;

namespace FedGrains.Cluster.Tests.Security;

/// <summary>Without authentication (the embedded default) clients are still kept to the client surface.</summary>
[Collection(nameof(SharedCluster))]
public sealed class ClientSurfaceTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_client_cannot_make_a_gateway_train_without_noise_even_when_authentication_is_off()
    {
        var gateway = fixture.Cluster.Client.GetGrain<IGatewayGrain>(IGatewayGrain.Key("surface", "gw-00"));
        var spec = TestCluster.SyntheticJob(rounds: 1, gateways: 1) with { Privacy = new PrivacySpec { NoiseLevel = "none" } };

        var join = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => gateway.JoinAsync(spec));
        var train = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => gateway.TrainAsync(new RoundTask(1, 0, [])));

        Assert.Contains("fedgrains.gateway.JoinAsync is internal to the cluster", join.Message);
        Assert.Contains("internal to the cluster", train.Message);
        Assert.Null(await fixture.Cluster.Grains().GetGrain<IGatewayGrain>(IGatewayGrain.Key("surface", "gw-00")).GetPrivacyAsync());
    }
}
