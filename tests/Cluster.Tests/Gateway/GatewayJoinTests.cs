using FedGrains.Cluster.Tests.Federation;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;

namespace FedGrains.Cluster.Tests.Gateway;

/// <summary>A gateway receives its job once, when it joins; requests carry only what changes.</summary>
[Collection(nameof(SharedCluster))]
public sealed class GatewayJoinTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Cluster.Client;
    private IGatewayGrain Gateway(string job, string id) => fixture.Cluster.Grains().GetGrain<IGatewayGrain>(IGatewayGrain.Key(job, id));

    [Fact]
    public async Task A_gateway_that_never_joined_refuses_to_train_and_says_why()
    {
        // Only the federation asks a gateway to train, and only after it joined: no state means the store lost it.
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Gateway("never-joined", "gw-00").TrainAsync(new RoundTask(1, 0, [])));

        Assert.Contains("is missing from the state store", e.Message);
        Assert.Null(await Gateway("never-joined", "gw-00").GetPrivacyAsync()); // nothing was recorded
    }

    [Fact]
    public async Task A_gateway_that_trained_for_a_job_refuses_to_join_it_again_under_another_spec()
    {
        var job = Grains.GetGrain<IFederationGrain>("join-once");
        var spec = TestCluster.SyntheticJob(rounds: 1, gateways: 2);
        await job.StartAsync(spec);
        Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);
        var spent = await Gateway("join-once", "gw-00").GetPrivacyAsync();

        await Gateway("join-once", "gw-00").JoinAsync(spec); // the same job again changes nothing
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Gateway("join-once", "gw-00").JoinAsync(spec with { Rounds = 50 }));

        // Refused either as a second spec, or (when the reconciler looks first) as a job started anew over released updates.
        Assert.True(e.Message.Contains("already trained for job join-once under a different spec") || e.Message.Contains("will not start it over"), e.Message);
        Assert.Equal(spent, await Gateway("join-once", "gw-00").GetPrivacyAsync());
        // Planning the job again (a new admission) is refused too: it already released updates in it.
        await Assert.ThrowsAsync<InvalidOperationException>(() => Gateway("join-once", "gw-00").PlanAsync(spec));
    }

    [Fact]
    public async Task A_job_its_sites_refuse_leaves_nothing_at_its_gateways()
    {
        var job = Grains.GetGrain<IFederationGrain>("join-refused");
        var spec = TestCluster.SyntheticJob(rounds: 3, gateways: 1) with
        {
            Gateways = [new GatewaySpec { Id = "a", Site = Sites.SiteLedgerTests.UpFrontSite }],
            Privacy = new PrivacySpec { TargetEpsilon = 4, Delta = 1e-5 }, // alone past the site's lifetime budget of 3
        };

        await Assert.ThrowsAsync<ArgumentException>(() => job.StartAsync(spec));

        Assert.Null(await Gateway("join-refused", "a").GetPrivacyAsync());
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Gateway("join-refused", "a").TrainAsync(new RoundTask(1, 0, [])));
        Assert.Contains("is missing from the state store", e.Message);
    }

    [Fact]
    public async Task A_batch_larger_than_a_gateways_data_is_refused_at_submission_naming_the_gateway_and_nothing_is_stored()
    {
        var job = Grains.GetGrain<IFederationGrain>("batch-too-big");
        var spec = TestCluster.SyntheticJob(rounds: 2, gateways: 2) with
        {
            Gateways = [new GatewaySpec { Id = "big" }, new GatewaySpec { Id = "tiny-batch", Overrides = new HyperParameterOverrides { BatchSize = 5000 } }],
        };

        var e = await Assert.ThrowsAsync<ArgumentException>(() => job.StartAsync(spec));

        Assert.Contains("gateway 'tiny-batch': batch_size 5000 is larger than the gateway's 2000 examples", e.Message);
        Assert.Null(await job.GetSpecAsync());
    }
}
