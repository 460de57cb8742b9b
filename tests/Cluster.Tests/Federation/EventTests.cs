using System.Collections.Concurrent;
using FedGrains.Grains.Interfaces;

namespace FedGrains.Cluster.Tests.Federation;

[Collection(nameof(SharedCluster))]
public sealed class EventTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_subscriber_sees_every_update_every_new_model_version_and_the_end()
    {
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("observed");
        var recorder = new Recorder();
        var reference = fixture.Cluster.Client.CreateObjectReference<IJobObserver>(recorder);
        await job.SubscribeAsync(reference);

        await job.StartAsync(TestCluster.SyntheticJob(rounds: 3, gateways: 3));
        var finished = await recorder.Finished.Task.WaitAsync(TimeSpan.FromMinutes(2));
        // Observer messages are one-way and need not arrive in order: give stragglers a moment.
        for (int i = 0; i < 100 && (recorder.Rounds.Count < 3 || recorder.Updates.Count < 9); i++) await Task.Delay(50);

        Assert.Equal(JobState.Completed, finished.State);
        Assert.Equal([1, 2, 3], recorder.Rounds.Select(r => r.Round).Order());
        Assert.Equal([1L, 2L, 3L], recorder.Versions.Order());
        Assert.Equal(9, recorder.Updates.Count);
        Assert.All(recorder.Updates, u => Assert.True(u.Accepted && u.Bytes > 0));
        Assert.Equal(3, recorder.Updates.Count(u => u.Round == 2));
    }

    [Fact]
    public async Task A_client_cannot_subscribe_watchers_without_end()
    {
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("watched-too-often");
        var recorders = Enumerable.Range(0, FedGrains.Grains.Federation.FederationGrain.MaxObservers + 1).Select(_ => new Recorder()).ToArray();
        var references = recorders.Select(r => fixture.Cluster.Client.CreateObjectReference<IJobObserver>(r)).ToArray();
        foreach (var reference in references[..^1]) await job.SubscribeAsync(reference);

        await job.SubscribeAsync(references[0]); // renewing a subscription is not a new watcher
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => job.SubscribeAsync(references[^1]));
        Assert.Contains("watchers", refused.Message);
        await job.UnsubscribeAsync(references[0]);
        await job.SubscribeAsync(references[^1]);
    }

    private sealed class Recorder : IJobObserver
    {
        public ConcurrentBag<(string Gateway, int Round, long Bytes, bool Accepted)> Updates { get; } = [];
        public ConcurrentBag<RoundRecord> Rounds { get; } = [];
        public ConcurrentBag<long> Versions { get; } = [];
        public TaskCompletionSource<JobStatus> Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void UpdateReceived(string gatewayId, int round, long bytes, bool accepted) => Updates.Add((gatewayId, round, bytes, accepted));

        public void RoundCompleted(JobStatus status, RoundRecord round)
        {
            Rounds.Add(round);
            Versions.Add(status.ModelVersion);
        }

        public void JobFinished(JobStatus status) => Finished.TrySetResult(status);
    }
}
