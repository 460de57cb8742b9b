using FedGrains.Grains.Federation;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.SecureAggregation;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Federation;

/// <summary>
/// Jobs under aggregation.secure on a real cluster: the federation gets masked deltas and their sum only, gateways
/// that drop mid-protocol are tolerated down to the threshold, and below it nothing is unmasked.
/// </summary>
public sealed class SecureAggregationClusterTests
{
    private static JobSpec Secure(int rounds = 3, int gateways = 4, int minUpdates = 2) => TestCluster.SyntheticJob(rounds, gateways) with
    {
        MinUpdatesPerRound = minUpdates,
        Aggregation = new AggregationSpec { Secure = new SecureAggregationSpec { Enabled = true, Bits = 24, ClippingNorm = 10 } },
    };

    /// <summary>A cluster whose federation makes the named gateways fail at one secure stage (as if they dropped out then).</summary>
    private static Task<InProcessTestCluster> StartAsync(string? failingMethod = null, params string[] failing) =>
        TestCluster.StartAsync(TestCluster.NewDatabasePath(), silos: 2, silo => silo.AddOutgoingGrainCallFilter(context =>
            context.InterfaceMethod?.Name == failingMethod && failing.Any(g => context.TargetId.ToString().EndsWith("/" + g, StringComparison.Ordinal))
                ? throw new TimeoutException($"{failingMethod} of a gateway that dropped")
                : context.Invoke()));

    private static async Task StopAsync(InProcessTestCluster cluster)
    {
        await cluster.StopAllSilosAsync();
        await cluster.DisposeAsync();
    }

    [Fact]
    public async Task A_secure_job_learns_as_well_as_the_same_job_in_the_clear_and_no_delta_leaves_a_gateway_unmasked()
    {
        var cluster = await StartAsync();
        try
        {
            var plain = cluster.Client.GetGrain<IFederationGrain>("clear-sum");
            await plain.StartAsync(Secure() with { Aggregation = new AggregationSpec() });
            var secure = cluster.Client.GetGrain<IFederationGrain>("secure-sum");
            await secure.StartAsync(Secure());
            var (clear, masked) = (await TestCluster.WaitFinishedAsync(plain), await TestCluster.WaitFinishedAsync(secure));

            Assert.True(masked.State == JobState.Completed, masked.Error);
            var history = await secure.GetHistoryAsync();
            Assert.All(history, r => Assert.Equal(4, r.Participants.Count));
            // A mean of the same clipped deltas: the same accuracy up to training noise.
            Assert.InRange(masked.TestAccuracy!.Value, clear.TestAccuracy!.Value - 0.05, 1.0);
            // What went up is masked vectors (24 bits per padded value) plus keys and shares, never a delta.
            int parameters = (int)(history[0].BytesUpDense / 4 / 4);
            long maskedBytes = 4L * 3 * SecureEncoding.PaddedLength(parameters);
            Assert.InRange(history[0].BytesUp, maskedBytes, maskedBytes + 4 * 2000);

            // The gateway itself refuses to release the delta in the clear, whoever asks.
            var gateway = cluster.Grains().GetGrain<IGatewayGrain>(IGatewayGrain.Key("secure-sum", "gw-00"));
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => gateway.TrainAsync(new RoundTask(1, 0, [])));
            Assert.Contains("releases its delta only masked", refused.Message);
        }
        finally { await StopAsync(cluster); }
    }

    [Fact]
    public async Task Distributed_noise_is_accounted_per_round_as_site_level_epsilon_in_each_sites_ledger()
    {
        var cluster = await StartAsync();
        try
        {
            var spec = Secure(rounds: 3, gateways: 4) with
            {
                Aggregation = new AggregationSpec { Secure = new SecureAggregationSpec { Enabled = true, ClippingNorm = 1, NoiseMultiplier = 0.5 } },
            };
            var job = cluster.Client.GetGrain<IFederationGrain>("secure-noised");
            await job.StartAsync(spec);
            var status = await TestCluster.WaitFinishedAsync(job);
            Assert.True(status.State == JobState.Completed, status.Error);

            // Each round's charge, as both sides plan it, at the fewest survivors a sum is unmasked with.
            int parameters = (int)((await job.GetHistoryAsync())[0].BytesUpDense / 4 / 4);
            var charge = SecureRoundPlan.For(spec.Aggregation.Secure, 4, parameters).Charge()!;
            double expected = FedGrains.Learning.Privacy.RdpAccountant.Epsilon([charge with { Steps = 3 }], 1e-5);
            foreach (var gateway in await job.GetGatewayPrivacyAsync())
            {
                Assert.Equal(expected, gateway.SecureSumEpsilon!.Value, 6);
                var site = await cluster.Client.GetGrain<ISiteLedgerGrain>(gateway.GatewayId).GetReportAsync();
                Assert.Equal(expected, site.SecureSumEpsilon!.Value, 6);
                Assert.Equal(expected, site.Jobs.Single().SecureSumEpsilon!.Value, 6);
                // The example-level epsilon is DP-SGD's alone, within its target.
                Assert.InRange(gateway.Epsilon!.Value, 2.5, 3.0);
                Assert.Equal(gateway.Epsilon!.Value, site.Epsilon, 6);
            }
        }
        finally { await StopAsync(cluster); }
    }

    [Fact]
    public async Task A_gateway_that_drops_after_sharing_its_keys_is_left_out_of_the_sum_and_the_round_completes()
    {
        var cluster = await StartAsync(nameof(IGatewayGrain.MaskInputAsync), "gw-01");
        try
        {
            var job = cluster.Client.GetGrain<IFederationGrain>("secure-dropout");
            await job.StartAsync(Secure(rounds: 2, gateways: 5));
            var status = await TestCluster.WaitFinishedAsync(job);

            Assert.True(status.State == JobState.Completed, status.Error);
            foreach (var round in await job.GetHistoryAsync())
            {
                Assert.Equal(["gw-00", "gw-02", "gw-03", "gw-04"], round.Participants.Order());
                var dropped = Assert.Single(round.Rejected);
                Assert.Equal("gw-01", dropped.GatewayId);
                Assert.Contains("dropped out of secure aggregation while sending its masked delta", dropped.Reason);
            }
        }
        finally { await StopAsync(cluster); }
    }

    [Fact]
    public async Task A_round_attempted_again_unmasks_only_the_same_survivors_so_no_difference_of_sums_reveals_a_delta()
    {
        var cluster = await StartAsync();
        try
        {
            var job = cluster.Client.GetGrain<IFederationGrain>("secure-again");
            var spec = Secure(rounds: 1, gateways: 4);
            await job.StartAsync(spec);
            Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);

            // As a federation that restarted after unmasking round 1 would: a new attempt of the same request, in which
            // gw-03 is left out of the survivors. Each gateway masks its held delta afresh (no training, no spend) ...
            var task = new RoundTask(1, 0, (await job.GetModelVersionAsync(0)).Weights);
            var ids = new[] { "gw-00", "gw-01", "gw-02", "gw-03" };
            var gateways = ids.Select(id => cluster.Grains().GetGrain<IGatewayGrain>(IGatewayGrain.Key("secure-again", id))).ToArray();
            int parameters = FedGrains.Learning.Codecs.WeightBuffer.Decode(task.GlobalWeights).Values.Length;
            var plan = SecureRoundPlan.For(spec.Aggregation.Secure, 4, parameters);
            var context = SecureRoundPlan.NewContext("secure-again", 1, 0);
            var answers = (await Task.WhenAll(gateways.Select((g, i) => g.TrainSecureAsync(task, new SecureRoundSetup(i + 1, 4, context, "c"))))).Select(a => a.Value).ToArray();
            Assert.All(answers, a => Assert.Null(a.Update.RefusedReason));
            var aggregator = new SecAggAggregator(plan.Protocol(context), NeighbourGraph.Build(4, plan.Neighbours, new Random(1)));
            var keys = aggregator.RouteKeys(answers.Select((a, i) => (i + 1, a.Keys!)).ToDictionary(p => p.Item1, p => p.Item2));
            var sent = new Dictionary<int, IReadOnlyList<EncryptedShare>>();
            foreach (var (i, k) in keys) sent[i] = (await gateways[i - 1].ShareKeysAsync(context, k, "c")).Value;
            var routed = aggregator.RouteShares(sent);
            var masked = new Dictionary<int, uint[]>();
            foreach (var (i, shares) in routed.Where(r => r.Key != 4)) masked[i] = ModularArithmetic.Unpack((await gateways[i - 1].MaskInputAsync(context, shares, "c")).Value, plan.Length, plan.Encoding.Bits);
            var request = aggregator.RequestUnmask(masked);

            // ... but none gives the shares for a sum without gw-03: with the first sum it would reveal gw-03's delta.
            foreach (var i in request.Survivors)
            {
                var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => gateways[i - 1].UnmaskAsync(context, request, "c"));
                Assert.Contains("already gave unmask shares for this round's sum of 4 gateways", refused.Message);
            }
            Assert.All(await job.GetGatewayPrivacyAsync(), g => Assert.Equal(1, g.Releases)); // nothing was trained or spent again
        }
        finally { await StopAsync(cluster); }
    }

    /// <summary>
    /// The first attempt of round 1 loses gw-03 (no masked delta) and then every unmask answer on the way back (as a
    /// federation that crashed mid-unmasking would): the gateways gave their shares for the sum of gw-00..02. In the
    /// next attempt gw-03 is back, but that sum is the only one of these deltas they will help unmask, so the
    /// federation takes exactly those three and the round completes, gw-03 left out saying why.
    /// </summary>
    [Fact]
    public async Task An_attempt_after_a_cut_short_unmasking_takes_the_same_survivors_and_the_round_completes()
    {
        byte[]? first = null;
        var cluster = await TestCluster.StartAsync(TestCluster.NewDatabasePath(), silos: 2, silo => silo.AddOutgoingGrainCallFilter(async context =>
        {
            var method = context.InterfaceMethod?.Name;
            if (method == nameof(IGatewayGrain.ShareKeysAsync)) first ??= (byte[])context.Request.GetArgument(0)!;
            bool firstAttempt = method is nameof(IGatewayGrain.MaskInputAsync) or nameof(IGatewayGrain.UnmaskAsync)
                && first is not null && ((byte[])context.Request.GetArgument(0)!).AsSpan().SequenceEqual(first);
            if (firstAttempt && method == nameof(IGatewayGrain.MaskInputAsync) && context.TargetId.ToString().EndsWith("/gw-03", StringComparison.Ordinal))
                throw new TimeoutException("gw-03 did not send its masked delta");
            await context.Invoke();
            if (firstAttempt && method == nameof(IGatewayGrain.UnmaskAsync)) throw new TimeoutException("the answer was lost with the federation");
        }));
        try
        {
            var job = cluster.Client.GetGrain<IFederationGrain>("secure-pinned");
            await job.StartAsync(Secure(rounds: 1, gateways: 4));
            var status = await TestCluster.WaitFinishedAsync(job);
            Assert.True(status.State == JobState.Completed, status.Error);
            var round = Assert.Single(await job.GetHistoryAsync());
            Assert.Equal(["gw-00", "gw-01", "gw-02"], round.Participants.Order());
            Assert.False(round.SecureSigned); // no certificates in this cluster: an unsigned round, and the record says so
            Assert.Contains(round.Rejected, r => r.GatewayId == "gw-03" && r.Reason.Contains("an earlier attempt's unmasking covered the 3 gateways it had then"));
            Assert.All(await job.GetGatewayPrivacyAsync(), g => Assert.Equal(1, g.Releases)); // trained and spent once
        }
        finally { await StopAsync(cluster); }
    }

    [Fact]
    public void A_gateway_that_reports_an_earlier_unmasking_that_cannot_be_or_that_others_contradict_is_dropped_not_followed()
    {
        var idOf = Enumerable.Range(1, 6).ToDictionary(i => i, i => $"gw-{i}");
        var dropped = new Dictionary<string, string>();
        // Honest gateways 1-4 gave shares for {1,2,3,4}; 5 reports a set without itself, 6 one others contradict.
        var pinned = SecureRound.PinnedSurvivors([(1, [1, 2, 3, 4]), (2, [4, 3, 2, 1]), (3, [1, 2, 3, 4]), (4, null), (5, [1, 2]), (6, [1, 6])],
            cohort: 6, minSurvivors: 2, idOf, dropped);
        Assert.Equal([1, 2, 3, 4], pinned!.Order());
        Assert.Contains("cannot have been", dropped["gw-5"]);
        Assert.Contains("other gateways contradict", dropped["gw-6"]);
        // Out of range, repeated, too small: the reporter drops, and alone it pins nothing.
        foreach (int[] bad in new[] { new[] { 1, 7 }, [1, 1, 2], [1] })
        {
            dropped.Clear();
            Assert.Null(SecureRound.PinnedSurvivors([(1, bad)], cohort: 6, minSurvivors: 2, idOf, dropped));
            Assert.Contains("gw-1", dropped.Keys);
        }
        Assert.Null(SecureRound.PinnedSurvivors([(1, null), (2, null)], cohort: 6, minSurvivors: 2, idOf, dropped)); // a first attempt
    }

    [Fact]
    public async Task Too_many_dropouts_unmask_nothing_and_the_job_fails_saying_why()
    {
        var cluster = await StartAsync(nameof(IGatewayGrain.MaskInputAsync), "gw-01", "gw-02", "gw-03");
        try
        {
            var job = cluster.Client.GetGrain<IFederationGrain>("secure-aborted");
            await job.StartAsync(Secure(rounds: 2, gateways: 4));
            var status = await TestCluster.WaitFinishedAsync(job);

            Assert.Equal(JobState.Failed, status.State);
            Assert.Contains("nothing was unmasked", status.Error);
            Assert.Empty(await job.GetHistoryAsync());
        }
        finally { await StopAsync(cluster); }
    }

    /// <summary>
    /// A stage's answer forged as a client that writes Orleans' wire protocol could (a filter on the federation's silo
    /// stands in for it, as in ForgedAnswerTests): its own masked vector in gw-01's place, keys in gw-02's. Unsealed, they
    /// would enter the round; sealed, both drop out of each round with the reason (a dropout, not a refusal: the job goes on)
    /// and the other four's sum is unmasked.
    /// </summary>
    [Fact]
    public async Task A_forged_stage_answer_is_refused_and_its_gateway_drops_out_of_the_round()
    {
        var cluster = await TestCluster.StartAsync(TestCluster.NewDatabasePath(), silos: 2, silo => silo.AddOutgoingGrainCallFilter(async context =>
        {
            await context.Invoke();
            if (context.InterfaceMethod?.Name == nameof(IGatewayGrain.MaskInputAsync) && context.TargetId.ToString().EndsWith("/gw-01", StringComparison.Ordinal))
                context.Result = (Sealed<byte[]>)context.Result! with { Value = new byte[((Sealed<byte[]>)context.Result!).Value.Length] };
            // gw-02's keys, answered in its name: its neighbours would encrypt their shares to the forger.
            if (context.InterfaceMethod?.Name == nameof(IGatewayGrain.TrainSecureAsync) && context.TargetId.ToString().EndsWith("/gw-02", StringComparison.Ordinal))
                context.Result = (Sealed<SecureTrainAnswer>)context.Result! with { Seal = "forged" };
        }));
        try
        {
            var job = cluster.Client.GetGrain<IFederationGrain>("secure-forged");
            await job.StartAsync(Secure(rounds: 2, gateways: 6)); // every survivor keeps 3 of its 5 neighbours, the threshold
            Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);

            var history = await job.GetHistoryAsync();
            Assert.All(history, r =>
            {
                Assert.Equal(["gw-00", "gw-03", "gw-04", "gw-05"], r.Participants.Order());
                Assert.All(new[] { "gw-01", "gw-02" }, id => Assert.Contains(r.Rejected, x => x.GatewayId == id && x.Reason.Contains("is not sealed by a silo of this cluster")));
            });
        }
        finally { await StopAsync(cluster); }
    }
}
