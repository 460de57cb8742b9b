using System.Collections.Concurrent;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using StackExchange.Redis;

namespace FedGrains.Cluster.Tests.Storage;

/// <summary>
/// A write the store does not take (redis restarting, as the chaos run does to it) must not leave a grain trusting
/// its own copy: before, the gateway kept the release it could not store and handed it out again when the round was
/// retried, and the site ledger kept the spend it could not store and skipped it as "already recorded", so after a
/// restart the stored ledgers missed a round that was trained on and used. Now such a write is retried until the
/// store takes it (or the grain deactivates, so its next call reads what the store holds).
/// </summary>
public sealed class FailedWriteTests
{
    [Theory]
    [InlineData("gateway/flaky-gw/gw-00", 4)] // its join, then one write per round: the last round's release
    [InlineData("siteledger/gw-00", 3)]       // one write per round: the last round's spend
    [InlineData("federation/flaky-gw", 1)]    // the submission: it failed, and submitted again it answered Running but never ran
    public async Task A_write_the_store_refuses_once_loses_no_job_round_or_spend_after_a_restart(string grain, int failedWrite)
    {
        var database = TestCluster.NewDatabasePath();
        var spec = TestCluster.SyntheticJob(rounds: 3, gateways: 1);
        var writes = new ConcurrentDictionary<string, int>();
        var first = await TestCluster.StartAsync(database, configure: silo => silo.Services.AddKeyedSingleton<IGrainStorage>(FedGrains.Grains.Hosting.SiloBuilderExtensions.StorageName,
            (sp, _) => new RefusingStore(ActivatorUtilities.CreateInstance<SqliteGrainStorage>(sp), id => id == grain && writes.AddOrUpdate(id, 1, (_, n) => n + 1) == failedWrite)));
        try
        {
            var job = first.Client.GetGrain<IFederationGrain>("flaky-gw");
            await job.StartAsync(spec);
            var end = await TestCluster.WaitFinishedAsync(job);
            Assert.True(end.State == JobState.Completed, $"{end.State}: {end.Error}");
            Assert.True(writes.GetValueOrDefault(grain) >= failedWrite, "the refused write must have happened");
        }
        finally
        {
            await first.StopAllSilosAsync();
            await first.DisposeAsync();
        }

        // What the store holds, read by a new cluster.
        var second = await TestCluster.StartAsync(database);
        try
        {
            var job = second.Client.GetGrain<IFederationGrain>("flaky-gw");
            var history = await job.GetHistoryAsync();
            Assert.Equal([1, 2, 3], history.Select(r => r.Round));
            var ledger = Assert.Single(await job.GetGatewayPrivacyAsync());
            Assert.Empty(LedgerAudit.GatewayLedgers("flaky-gw", history, [ledger], spec.Rounds, spec.Privacy.TargetEpsilon));
            var site = await second.Client.GetGrain<ISiteLedgerGrain>("gw-00").GetReportAsync();
            Assert.Equal(3, Assert.Single(site.Jobs).Releases);
            Assert.Empty(LedgerAudit.SiteLedger(site, new Dictionary<(string, string), GatewayPrivacy> { [("flaky-gw", "gw-00")] = ledger },
                new Dictionary<string, IReadOnlyList<RoundRecord>> { ["flaky-gw"] = history }));
        }
        finally
        {
            await second.DisposeAsync();
        }
    }

    /// <summary>The shared store, refusing the writes <paramref name="refuse"/> picks (by grain id) as redis does when it goes away mid-write.</summary>
    private sealed class RefusingStore(IGrainStorage inner, Func<string, bool> refuse) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
            refuse(grainId.ToString())
                ? throw new RedisConnectionException(ConnectionFailureType.SocketFailure, "the store went away (test)")
                : inner.WriteStateAsync(stateName, grainId, grainState);

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
    }
}
