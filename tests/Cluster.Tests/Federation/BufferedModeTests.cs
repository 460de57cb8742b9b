using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Jobs;

namespace FedGrains.Cluster.Tests.Federation;

/// <summary>Asynchronous buffered rounds (FedBuff) on a real cluster: gateways on two silos, SQLite storage.</summary>
[Collection(nameof(SharedCluster))]
public sealed class BufferedModeTests(ClusterFixture fixture)
{
    private static JobSpec Buffered(int versions) => TestCluster.SyntheticJob(rounds: versions, gateways: 6) with
    {
        Aggregation = new AggregationSpec { Buffered = new BufferedSpec { Enabled = true, BufferSize = 2, MaxStaleness = 4 } },
    };

    [Fact]
    public async Task Every_K_updates_make_a_version_stale_ones_count_and_every_version_can_be_fetched()
    {
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("buffered-a");
        await job.StartAsync(Buffered(versions: 8));
        var status = await TestCluster.WaitFinishedAsync(job);

        Assert.True(status.State == JobState.Completed, status.Error);
        var history = await job.GetHistoryAsync();
        Assert.Equal(Enumerable.Range(1, 8), history.Select(r => r.Round));
        Assert.All(history, r =>
        {
            Assert.Equal(2, r.Participants.Distinct().Count());
            Assert.Equal(2, r.Staleness!.Count);
            Assert.All(r.Staleness, s => Assert.InRange(s, 0, 4));
        });
        // Six gateways start from version 0 and only two fit in version 1: the other four arrive stale.
        Assert.Contains(history.SelectMany(r => r.Staleness!), s => s > 0);
        Assert.InRange(history[^1].TestAccuracy, 0.5, 1.0);

        for (long v = 0; v <= 8; v++)
        {
            var snapshot = await job.GetModelVersionAsync(v);
            Assert.Equal(v, snapshot.Version);
            Assert.Equal(v, WeightBuffer.Decode(snapshot.Weights).ModelVersion);
        }
        Assert.Equal((await job.GetModelAsync()).Weights, (await job.GetModelVersionAsync(8)).Weights);
        Assert.NotEqual((await job.GetModelVersionAsync(7)).Weights, (await job.GetModelVersionAsync(8)).Weights);
        var missing = await Assert.ThrowsAsync<ArgumentException>(() => job.GetModelVersionAsync(9));
        Assert.Contains("no model version 9: versions run 0..8", missing.Message);

        var ledgers = await job.GetGatewayPrivacyAsync();
        Assert.Equal(6, ledgers.Count);
        Assert.All(ledgers, l => Assert.True(l.Epsilon <= 3 * (1 + 1e-9), $"{l.GatewayId} spent {l.Epsilon}"));
    }

    [Fact]
    public async Task A_buffered_job_torn_down_mid_way_resumes_from_its_persisted_buffer_and_dispatches()
    {
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("buffered-b");
        await job.StartAsync(Buffered(versions: 8));
        var before = await TestCluster.WaitAsync(job, s => s.RoundsCompleted >= 2);
        await fixture.Cluster.DeactivateAsync(job);
        Assert.True(before.RoundsCompleted < 8, "the federation must be torn down before the job ends");
        await job.WakeAsync();
        var status = await TestCluster.WaitFinishedAsync(job);

        Assert.True(status.State == JobState.Completed, status.Error);
        var history = await job.GetHistoryAsync();
        Assert.Equal(Enumerable.Range(1, 8), history.Select(r => r.Round));
        Assert.All(history, r => Assert.Equal(2, r.Participants.Distinct().Count()));
        Assert.Equal(8, (await job.GetModelAsync()).Version);
        Assert.All(await job.GetGatewayPrivacyAsync(), l => Assert.True(l.Epsilon <= 3 * (1 + 1e-9), $"{l.GatewayId} spent {l.Epsilon}"));
    }
}
