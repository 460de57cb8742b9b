using FedGrains.Grains.Interfaces;

namespace FedGrains.Cluster.Tests.Storage;

public sealed class DurabilityTests
{
    [Fact]
    public async Task A_job_interrupted_by_stopping_every_silo_resumes_by_itself_without_losing_or_repeating_a_round()
    {
        var database = TestCluster.NewDatabasePath();
        var spec = TestCluster.SyntheticJob(rounds: 6);

        var first = await TestCluster.StartAsync(database);
        await first.Client.GetGrain<IFederationGrain>("durable").StartAsync(spec);
        var before = await TestCluster.WaitAsync(first.Client.GetGrain<IFederationGrain>("durable"), s => s.RoundsCompleted >= 2);
        await first.StopAllSilosAsync();
        await first.DisposeAsync();
        Assert.True(before.RoundsCompleted < spec.Rounds, "the job must still have rounds left when the silos stop");

        // A new cluster on the same SQLite file: nobody calls the job; its start-up scan wakes it.
        var second = await TestCluster.StartAsync(database);
        try
        {
            var job = second.Client.GetGrain<IFederationGrain>("durable");
            var status = await TestCluster.WaitFinishedAsync(job);

            Assert.True(status.State == JobState.Completed, $"{status.State}: {status.Error}");
            var history = await job.GetHistoryAsync();
            Assert.Equal(Enumerable.Range(1, spec.Rounds), history.Select(r => r.Round));
            Assert.Equal(spec.Rounds, (await job.GetModelAsync()).Version);

            var ledgers = await job.GetGatewayPrivacyAsync();
            Assert.Equal(4, ledgers.Count);
            LedgerAssert.Consistent(history, ledgers, spec.Rounds, spec.Privacy.TargetEpsilon);
        }
        finally
        {
            await second.DisposeAsync();
        }
    }
}
