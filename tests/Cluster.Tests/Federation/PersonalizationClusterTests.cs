using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Cluster.Tests.Federation;

/// <summary>Personal layers (model.local, FedPer) on a real cluster: trained at each site, never sent, measured once per site at the end.</summary>
[Collection(nameof(SharedCluster))]
public sealed class PersonalizationClusterTests(ClusterFixture fixture)
{
    private static JobSpec Personal(int gateways = 3) => TestCluster.SyntheticJob(rounds: 2, gateways) with
    {
        Model = new ModelSpec("mlp", [32]) { Local = ["out"] },
        Dataset = TestCluster.SyntheticJob().Dataset with { Partition = "dirichlet", DirichletAlpha = 0.3 },
    };

    // mlp [32] on 20 features and 4 classes: fc1 (20 x 32 + 32), then out (32 x 4 + 4).
    private const int Shared = 20 * 32 + 32;

    [Fact]
    public async Task Each_site_keeps_its_local_layers_and_releases_its_own_accuracy_once_within_its_budget()
    {
        var spec = Personal();
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("personal");
        var (initial, _) = GlobalModel.Initial(spec.Model, [20], 4, spec.Seed);
        await job.StartAsync(spec);
        var status = await TestCluster.WaitFinishedAsync(job);
        Assert.True(status.State == JobState.Completed, status.Error);

        // The federation's copy of the local layers never moved: no gateway sent them.
        var final = WeightBuffer.Decode((await job.GetModelAsync()).Weights).Values;
        Assert.Equal(initial[Shared..], final[Shared..]);
        Assert.NotEqual(initial[..Shared], final[..Shared]);

        var data = JobData.Load(spec);
        var evaluations = await job.GetPersonalEvaluationsAsync();
        Assert.Equal(3, evaluations.Count);
        long training = 0;
        foreach (var gateway in spec.ResolveGateways())
        {
            var e = Assert.Single(evaluations, e => e.GatewayId == gateway.Id);
            Assert.Null(e.Error);
            Assert.True(e.OwnLocalLayers);
            Assert.Equal(2, e.ModelVersion);
            int all = data.ForGateway(gateway).Count;
            Assert.Equal(Math.Max(1, (int)Math.Round(0.1 * all)), e.HeldOutExamples);
            Assert.InRange(e.Accuracy!.Value, 0, 1);
            training += all - e.HeldOutExamples;
        }
        // The held-out examples are not trained on: a round covers the rest.
        Assert.Equal(training, (await job.GetHistoryAsync())[0].Examples);

        // One noised release each, planned into the calibration: still within the target.
        foreach (var privacy in await job.GetGatewayPrivacyAsync())
        {
            Assert.Equal(3, privacy.Releases); // two rounds and the personal accuracy
            Assert.InRange(privacy.Epsilon!.Value, 2.9, 3 + 1e-9);
        }

        // Asked again (a federation retrying, or one that would like a second look at another model), the same answer, no second charge.
        var gateway0 = fixture.Cluster.Grains().GetGrain<IGatewayGrain>(IGatewayGrain.Key("personal", "gw-00"));
        var layout = WeightBuffer.Decode((await job.GetModelAsync()).Weights).LayoutHash;
        var other = WeightBuffer.Encode(new float[final.Length], WeightKind.Weights, 1, layout);
        var again = await gateway0.EvaluatePersonalAsync(new RoundTask(PersonalEvaluation.Sequence, 1, other));
        Assert.Equal(evaluations.Single(e => e.GatewayId == "gw-00"), again);
        Assert.Equal(3, (await gateway0.GetPrivacyAsync())!.Releases);

        // A client may not ask a gateway for it at all.
        await Assert.ThrowsAnyAsync<Exception>(() => fixture.Cluster.Client.GetGrain<IGatewayGrain>(IGatewayGrain.Key("personal", "gw-01"))
            .EvaluatePersonalAsync(new RoundTask(PersonalEvaluation.Sequence, 2, other)));
    }

    [Fact]
    public async Task A_site_that_never_trained_releases_nothing_and_every_sites_report_still_reads()
    {
        var spec = TestCluster.SyntheticJob(rounds: 1, gateways: 3) with { Model = new ModelSpec("mlp", [32]) { Local = ["out"] }, CohortSize = 1 };
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("personal-cohort");
        await job.StartAsync(spec);
        var status = await TestCluster.WaitFinishedAsync(job);
        Assert.True(status.State == JobState.Completed, status.Error);

        var evaluations = await job.GetPersonalEvaluationsAsync();
        var idle = evaluations.Where(e => !e.OwnLocalLayers).ToArray();
        Assert.Equal(2, idle.Length); // a cohort of one: two sites never trained
        Assert.All(idle, e => Assert.Null(e.Accuracy));
        Assert.NotNull(Assert.Single(evaluations, e => e.OwnLocalLayers).Accuracy);
        foreach (var gateway in spec.ResolveGateways())
        {
            var report = await fixture.Cluster.Client.GetGrain<ISiteLedgerGrain>(gateway.SiteId).GetReportAsync();
            bool trained = idle.All(e => e.GatewayId != gateway.Id);
            Assert.Equal(trained ? 1 : 0, report.Jobs.Count(j => j.JobId == "personal-cohort"));
        }
    }

    [Fact]
    public async Task A_request_before_the_last_version_is_refused_and_both_ledgers_agree_at_the_end()
    {
        var spec = TestCluster.SyntheticJob(rounds: 3, gateways: 2) with { Model = new ModelSpec("mlp", [32]) { Local = ["out"] } };
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("personal-early");
        await job.StartAsync(spec);
        var gateway = fixture.Cluster.Grains().GetGrain<IGatewayGrain>(IGatewayGrain.Key("personal-early", "gw-00"));
        // A round's number and an earlier version: were it taken, it would spend the one release and the site's slot of that round.
        var early = await Assert.ThrowsAsync<InvalidOperationException>(() => gateway.EvaluatePersonalAsync(new RoundTask(3, 2, [])));
        Assert.Contains("last model version (3)", early.Message);
        var status = await TestCluster.WaitFinishedAsync(job);
        Assert.True(status.State == JobState.Completed, status.Error);

        var own = (await gateway.GetPrivacyAsync())!;
        var site = (await fixture.Cluster.Client.GetGrain<ISiteLedgerGrain>("gw-00").GetReportAsync()).Jobs.Single(j => j.JobId == "personal-early");
        Assert.Equal(own.Epsilon!.Value, site.Epsilon, 9);
        Assert.Equal(own.Steps, site.Steps);
        Assert.Equal(4, site.Releases); // three rounds and the personal accuracy
        Assert.Equal(0, own.MetricReleases); // no training metric was released; the personal count is in the epsilon
    }

    [Fact]
    public async Task A_job_without_local_layers_has_no_personal_evaluation_and_its_gateways_refuse_one()
    {
        var spec = TestCluster.SyntheticJob(rounds: 1, gateways: 2);
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("not-personal");
        await job.StartAsync(spec);
        Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);
        Assert.Empty(await job.GetPersonalEvaluationsAsync());
        var model = (await job.GetModelAsync()).Weights;
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => fixture.Cluster.Grains()
            .GetGrain<IGatewayGrain>(IGatewayGrain.Key("not-personal", "gw-00")).EvaluatePersonalAsync(new RoundTask(PersonalEvaluation.Sequence, 1, model)));
        Assert.Contains("no model.local layers", refused.Message);
        Assert.All(await job.GetGatewayPrivacyAsync(), g => Assert.Equal(1, g.Releases));
    }

    [Fact]
    public async Task Under_secure_aggregation_with_distributed_noise_local_and_frozen_layers_stay_as_initialised()
    {
        // The secure sum carries noise in every coordinate, also where the deltas are zero: the federation must not apply it there.
        var spec = Personal(gateways: 4) with
        {
            Model = new ModelSpec("mlp", [32, 16], Frozen: ["fc1"]) { Local = ["out"] },
            Aggregation = new AggregationSpec { Secure = new SecureAggregationSpec { Enabled = true, ClippingNorm = 1, NoiseMultiplier = 0.5 } },
            MinUpdatesPerRound = 2,
        };
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("personal-secure");
        var (initial, _) = GlobalModel.Initial(spec.Model, [20], 4, spec.Seed);
        await job.StartAsync(spec);
        var status = await TestCluster.WaitFinishedAsync(job);
        Assert.True(status.State == JobState.Completed, status.Error);

        var final = WeightBuffer.Decode((await job.GetModelAsync()).Weights).Values;
        int fc1 = 20 * 32 + 32, fc2 = 32 * 16 + 16;
        Assert.Equal(initial[..fc1], final[..fc1]);
        Assert.NotEqual(initial[fc1..(fc1 + fc2)], final[fc1..(fc1 + fc2)]);
        Assert.Equal(initial[(fc1 + fc2)..], final[(fc1 + fc2)..]);
        Assert.All(await job.GetPersonalEvaluationsAsync(), e => Assert.True(e.Error is null && e.Accuracy is not null, e.Error));
    }
}
