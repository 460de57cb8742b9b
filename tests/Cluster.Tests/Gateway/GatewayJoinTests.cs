using FedGrains.Cluster.Tests.Federation;
using FedGrains.Grains.Interfaces;

namespace FedGrains.Cluster.Tests.Gateway;

/// <summary>A gateway receives its job once, when it joins; requests carry only what changes.</summary>
[Collection(nameof(SharedCluster))]
public sealed class GatewayJoinTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Cluster.Client;

    [Fact]
    public async Task A_gateway_that_never_joined_refuses_to_train_and_says_why()
    {
        var gateway = Grains.GetGrain<IGatewayGrain>(IGatewayGrain.Key("never-joined", "gw-00"));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => gateway.TrainAsync(new RoundTask(1, 0, [])));

        Assert.Contains("has not joined job never-joined", e.Message);
        Assert.Null(await gateway.GetPrivacyAsync()); // nothing was recorded
    }

    [Fact]
    public async Task A_gateway_that_trained_for_a_job_refuses_to_join_it_again_under_another_spec()
    {
        var job = Grains.GetGrain<IFederationGrain>("join-once");
        var spec = TestCluster.SyntheticJob(rounds: 1, gateways: 2);
        await job.StartAsync(spec);
        Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);
        var gateway = Grains.GetGrain<IGatewayGrain>(IGatewayGrain.Key("join-once", "gw-00"));
        var spent = await gateway.GetPrivacyAsync();

        var same = await gateway.JoinAsync(spec); // the same job again: its stored plan, nothing spent
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => gateway.JoinAsync(spec with { Rounds = 50 }));

        Assert.Equal(spent!.NoiseMultiplier, same[0].NoiseMultiplier); // the noise it was calibrated to at the first join
        Assert.Contains("already trained for job join-once under a different spec", e.Message);
        Assert.Equal(spent, await gateway.GetPrivacyAsync());
    }
}
