using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using Orleans.TestingHost;
using StackExchange.Redis;

namespace FedGrains.Cluster.Tests.Storage;

/// <summary>
/// Grain state in a real redis-server, with keys deleted or garbled as an eviction (maxmemory-policy), a partial
/// restore or a stray FLUSH would leave them: what the store lost is named, never started over or read as empty.
/// Each case deletes one key of a finished job, forces every idle activation out so the next call reads Redis again,
/// and checks the refusal.
/// </summary>
public sealed class RedisStoreTests : IAsyncLifetime
{
    private const string Service = "redis-store-tests";
    private readonly int port = HostBuilderExtensions.FreeTcpPort();
    private ProcessRunner redis = null!;
    private ConnectionMultiplexer keys = null!;
    private InProcessTestCluster cluster = null!;

    public async Task InitializeAsync()
    {
        redis = ProcessRunner.StartRedis(port);
        keys = await ConnectAsync();
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddFedGrainsRedisStorage($"127.0.0.1:{port}", Service);
            silo.AddFedGrains(new FedGrainsSiloOptions { HostsGateways = true, Device = "cpu", TorchThreads = 1, SeededNoiseForTests = true, RoundTickMilliseconds = 20 });
        });
        cluster = builder.Build();
        await cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await cluster.DisposeAsync();
        keys.Dispose();
        redis.Dispose();
    }

    private async Task<ConnectionMultiplexer> ConnectAsync()
    {
        for (int attempt = 0; ; attempt++)
        {
            try { return await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}"); }
            catch (RedisConnectionException) when (attempt < 50) { await Task.Delay(100); } // redis-server still starting
        }
    }

    private static JobSpec Job(string site) => TestCluster.SyntheticJob(rounds: 2, gateways: 2) with
    {
        GatewayCount = 0,
        Gateways = [new GatewaySpec { Id = "a", Site = site + "-a" }, new GatewaySpec { Id = "b", Site = site + "-b" }],
    };

    private async Task<IFederationGrain> FinishedJobAsync(string id)
    {
        var job = cluster.Client.GetGrain<IFederationGrain>(id);
        await job.StartAsync(Job(id));
        Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);
        return job;
    }

    /// <summary>Deletes (or garbles) one grain's state, then makes the next call of every grain read Redis again.</summary>
    private async Task DamageAsync(string grainKey, bool garble = false)
    {
        var server = keys.GetServer($"127.0.0.1:{port}");
        var key = Assert.Single(server.Keys(pattern: $"*/state/{grainKey}"));
        if (garble) await keys.GetDatabase().HashSetAsync(key, "data", Enumerable.Range(0, 512).Select(i => (byte)(i * 131 + 7)).ToArray());
        else Assert.True(await keys.GetDatabase().KeyDeleteAsync(key));
        await cluster.Grains().GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
    }

    private string Store => $"the Redis store at 127.0.0.1:{port} (service '{Service}')";

    [Fact]
    public async Task A_gateways_deleted_key_is_named_not_read_as_a_gateway_that_spent_nothing()
    {
        var job = await FinishedJobAsync("lost-gateway");
        await DamageAsync("gateway/lost-gateway/b/gateway");

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(job.GetGatewayPrivacyAsync);
        Assert.StartsWith($"the state (privacy ledger) of gateway 'b' of job 'lost-gateway' is missing from {Store}", refused.Message);
        Assert.Contains("maxmemory-policy noeviction", refused.Message);
    }

    [Fact]
    public async Task A_finished_jobs_deleted_key_is_named_and_the_job_is_not_started_over()
    {
        var job = await FinishedJobAsync("lost-job");
        await DamageAsync("federation/lost-job/federation");

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(job.GetStatusAsync);
        Assert.StartsWith($"the state of job 'lost-job' is missing from {Store}, although the job index lists it as Completed", refused.Message);
        Assert.Equal(refused.Message, (await Assert.ThrowsAsync<InvalidOperationException>(() => job.StartAsync(Job("lost-job")))).Message);
    }

    /// <summary>Its state and its index entry both gone: the job looks new, but its gateways and sites remember it.</summary>
    [Fact]
    public async Task A_job_whose_key_and_index_entry_are_gone_is_refused_by_the_ledgers_that_remember_it()
    {
        await FinishedJobAsync("forgotten");
        await keys.GetDatabase().HashDeleteAsync($"fedgrains:{Service}:jobs", "forgotten");
        await DamageAsync("federation/forgotten/federation");

        var job = cluster.Client.GetGrain<IFederationGrain>("forgotten");
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => job.StartAsync(Job("forgotten")));
        Assert.StartsWith($"the state of job 'forgotten' is missing from {Store}, although its gateway", refused.Message);
        Assert.Null(await job.GetSpecAsync()); // nothing was stored

        // With the gateways' keys gone too, the sites' ledgers still hold the job's spends.
        await DamageAsync("gateway/forgotten/a/gateway");
        await DamageAsync("gateway/forgotten/b/gateway");
        var bySite = await Assert.ThrowsAsync<ArgumentException>(() => job.StartAsync(Job("forgotten")));
        Assert.Contains($"the state of job 'forgotten' is missing from {Store}, although site 'forgotten-", bySite.Message);
        Assert.Contains("has recorded 2 release(s) of that job", bySite.Message);
    }

    [Fact]
    public async Task A_site_ledgers_deleted_key_is_named_and_its_garbled_key_refused()
    {
        await FinishedJobAsync("lost-site");
        await DamageAsync("siteledger/lost-site-a/site-ledger");
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(cluster.Client.GetGrain<ISiteLedgerGrain>("lost-site-a").GetReportAsync);
        Assert.StartsWith($"the privacy ledger of site lost-site-a is missing from {Store}, although the site directory lists the site", missing.Message);

        await DamageAsync("siteledger/lost-site-b/site-ledger", garble: true);
        var garbled = await Assert.ThrowsAsync<InvalidOperationException>(cluster.Client.GetGrain<ISiteLedgerGrain>("lost-site-b").GetReportAsync);
        Assert.StartsWith("the privacy ledger of site lost-site-b is altered: its stored record cannot be read", garbled.Message);
    }
}
