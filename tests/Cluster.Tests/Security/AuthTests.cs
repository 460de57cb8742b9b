using System.Security.Cryptography;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Security;

public sealed class SignatureTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);
    private static readonly Dictionary<string, byte[]> Keys = new() { ["operator"] = Key };
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    [Fact]
    public void A_client_token_is_valid_only_for_its_method_grain_key_and_time()
    {
        var token = Signatures.ClientToken("operator", Key, "StartAsync", "fedgrains.federation/a", Now);

        Assert.Null(Signatures.VerifyClientToken(token, Keys, "StartAsync", "fedgrains.federation/a", Now.AddSeconds(30), 300));
        Assert.Contains("invalid", Signatures.VerifyClientToken(token, Keys, "CancelAsync", "fedgrains.federation/a", Now, 300));
        Assert.Contains("invalid", Signatures.VerifyClientToken(token, Keys, "StartAsync", "fedgrains.federation/b", Now, 300));
        Assert.Contains("expired", Signatures.VerifyClientToken(token, Keys, "StartAsync", "fedgrains.federation/a", Now.AddMinutes(10), 300));
        Assert.Contains("no credential", Signatures.VerifyClientToken(null, Keys, "StartAsync", "g", Now, 300));
        var other = Signatures.ClientToken("stranger", Key, "StartAsync", "g", Now);
        Assert.Contains("unknown client key", Signatures.VerifyClientToken(other, Keys, "StartAsync", "g", Now, 300));
        var forged = Signatures.ClientToken("operator", RandomNumberGenerator.GetBytes(32), "StartAsync", "g", Now);
        Assert.Contains("invalid", Signatures.VerifyClientToken(forged, Keys, "StartAsync", "g", Now, 300));
    }

    [Fact]
    public void An_update_signature_covers_the_delta_bytes_round_and_version()
    {
        var delta = RandomNumberGenerator.GetBytes(100);
        var signature = Signatures.UpdateSignature(Key, "job", "gw-1", 3, 2, delta);

        Assert.True(Signatures.VerifyUpdate(signature, Key, "job", "gw-1", 3, 2, delta));
        var tampered = (byte[])delta.Clone();
        tampered[50] ^= 1;
        Assert.False(Signatures.VerifyUpdate(signature, Key, "job", "gw-1", 3, 2, tampered));
        Assert.False(Signatures.VerifyUpdate(signature, Key, "job", "gw-1", 4, 2, delta));
        Assert.False(Signatures.VerifyUpdate(signature, Key, "job", "gw-2", 3, 2, delta));
        Assert.False(Signatures.VerifyUpdate(null, Key, "job", "gw-1", 3, 2, delta));
    }

    [Fact]
    public void Bad_keys_in_configuration_are_named()
    {
        var options = new AuthOptions { Enabled = true, ClientKeys = { ["op"] = "short" } };
        Assert.Contains("key 'op' must be base64", string.Join("\n", options.Problems()));
        Assert.Contains("ClientKeys must hold", string.Join("\n", new AuthOptions { Enabled = true }.Problems()));
        Assert.Throws<ArgumentException>(() => Signatures.ParseCredential("no-secret"));
    }
}

/// <summary>A cluster with authentication on: client keys for the CLI, site keys for two of three gateways.</summary>
public sealed class AuthTests : IAsyncLifetime
{
    private static readonly byte[] ClientKey = RandomNumberGenerator.GetBytes(32);

    // One set of site keys for the whole cluster (as from one Kubernetes secret): a gateway and the federation may
    // run on different silos.
    private static readonly string[] GatewayKeys = [Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))];
    private InProcessTestCluster cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        var database = TestCluster.NewDatabasePath();
        builder.ConfigureSilo((options, silo) =>
        {
            silo.AddFedGrainsSqliteStorage(database);
            silo.AddFedGrains(new FedGrainsSiloOptions { Device = "cpu", TorchThreads = 1, SeededNoiseForTests = true, RoundTickMilliseconds = 20 },
                new AuthOptions
                {
                    Enabled = true,
                    ClientKeys = { ["operator"] = Convert.ToBase64String(ClientKey) },
                    GatewayKeys = { ["gw-00"] = GatewayKeys[0], ["gw-01"] = GatewayKeys[1] },
                });
        });
        cluster = builder.Build();
        await cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await cluster.DisposeAsync();

    [Fact]
    public async Task Calls_without_or_with_a_wrong_credential_are_refused_and_change_nothing()
    {
        var job = cluster.Client.GetGrain<IFederationGrain>("guarded");
        var spec = TestCluster.SyntheticJob(rounds: 1, gateways: 3);

        var missing = await Assert.ThrowsAnyAsync<Exception>(() => job.StartAsync(spec));
        Assert.Contains("no credential", missing.Message);
        Sign(job, "StartAsync", RandomNumberGenerator.GetBytes(32));
        var wrong = await Assert.ThrowsAnyAsync<Exception>(() => job.StartAsync(spec));
        Assert.Contains("invalid credential signature", wrong.Message);
        Sign(job, "GetSpecAsync", ClientKey);
        Assert.Null(await job.GetSpecAsync());
        RequestContext.Clear();
        await Assert.ThrowsAnyAsync<Exception>(() => cluster.Client.GetGrain<IGatewayGrain>(IGatewayGrain.Key("guarded", "gw-00")).GetPrivacyAsync());
    }

    [Fact]
    public async Task Signed_requests_run_a_job_and_updates_without_a_valid_site_signature_are_rejected()
    {
        var job = cluster.Client.GetGrain<IFederationGrain>("signed");

        Sign(job, "StartAsync", ClientKey);
        await job.StartAsync(TestCluster.SyntheticJob(rounds: 2, gateways: 3));
        JobStatus status;
        do
        {
            await Task.Delay(50);
            Sign(job, "GetStatusAsync", ClientKey);
            status = await job.GetStatusAsync();
        } while (status.State == JobState.Running);

        Assert.Equal(JobState.Completed, status.State);
        Sign(job, "GetHistoryAsync", ClientKey);
        var history = await job.GetHistoryAsync();
        Assert.All(history, r =>
        {
            Assert.Equal(["gw-00", "gw-01"], r.Participants);
            Assert.Contains("no site key for 'gw-02'", Assert.Single(r.Rejected).Reason);
        });
        RequestContext.Clear();
    }

    private static void Sign(IFederationGrain job, string method, byte[] key) =>
        RequestContext.Set(Signatures.RequestContextKey,
            Signatures.ClientToken("operator", key, method, job.GetGrainId().ToString(), DateTimeOffset.UtcNow));
}
