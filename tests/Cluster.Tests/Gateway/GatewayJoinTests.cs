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

    /// <summary>The federation joins every gateway before its first round: one asked to train without a job lost its state, which stops the job (InvalidDataException).</summary>
    [Fact]
    public async Task A_gateway_that_never_joined_refuses_to_train_and_says_why()
    {
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Gateway("never-joined", "gw-00").TrainAsync(new RoundTask(1, 0, [])));

        Assert.StartsWith("the state of gateway 'gw-00' of job 'never-joined' is missing from the state store", e.Message);
        Assert.Contains("the federation joins every gateway before its first round", e.Message);
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

        Assert.Contains("already trained for job join-once under a different spec", e.Message);
        Assert.Equal(spent, await Gateway("join-once", "gw-00").GetPrivacyAsync());
        // Planned again (its job admitted as new), it says the job's state was lost rather than plan a second run.
        var replan = await Assert.ThrowsAsync<InvalidOperationException>(() => Gateway("join-once", "gw-00").PlanAsync(spec));
        Assert.StartsWith("the state of job 'join-once' is missing from the state store", replan.Message);
        Assert.Contains("its gateway 'gw-00' has already released 1 update(s) in it", replan.Message);
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
        Assert.Contains("the state of gateway 'a' of job 'join-refused' is missing", e.Message);
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
