using System.Security.Cryptography;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Security;

/// <summary>
/// A cluster with authentication on, attacked by holders of valid client keys: an operator, two submitters, a viewer
/// and the admin of site gw-00. Site keys exist for two of three gateways.
/// </summary>
public sealed class AccessTests : IAsyncLifetime
{
    private static readonly Dictionary<string, (string Role, ClientCredential Key)> Clients = new[]
    {
        ("operator", "operator"), ("alice", "submitter"), ("bob", "submitter"), ("viewer", "viewer"), ("admin-00", "site-admin:gw-00"),
    }.ToDictionary(c => c.Item1, c => (c.Item2, new ClientCredential(c.Item1, RandomNumberGenerator.GetBytes(32))));

    // The credential the test client signs its next calls with (null: unsigned), and the last token it sent.
    private static readonly AsyncLocal<ClientCredential?> Signer = new();
    private static string? lastToken;

    private static readonly string[] GatewayKeys = [Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))];
    private InProcessTestCluster cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        var database = TestCluster.NewDatabasePath();
        var auth = new AuthOptions
        {
            Enabled = true,
            ClusterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            GatewayKeys = { ["gw-00"] = GatewayKeys[0], ["gw-01"] = GatewayKeys[1] },
        };
        foreach (var (id, (role, key)) in Clients)
        {
            auth.ClientKeys[id] = Convert.ToBase64String(key.Secret);
            auth.ClientRoles[id] = role;
        }
        builder.ConfigureSilo((options, silo) =>
        {
            silo.AddFedGrainsSqliteStorage(database);
            silo.AddFedGrains(new FedGrainsSiloOptions { Device = "cpu", TorchThreads = 1, SeededNoiseForTests = true, RoundTickMilliseconds = 20 }, auth);
        });
        builder.ConfigureClient(client =>
        {
            client.AddOutgoingGrainCallFilter(new ClientSigningFilter(() => Signer.Value, TimeProvider.System));
            client.AddOutgoingGrainCallFilter(context =>
            {
                lastToken = RequestContext.Get(Signatures.RequestContextKey) as string;
                return context.Invoke();
            });
        });
        cluster = builder.Build();
        await cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await cluster.DisposeAsync();

    private IGrainFactory Grains => cluster.Client;

    private static async Task<T> As<T>(string client, Func<Task<T>> call)
    {
        Signer.Value = client == "nobody" ? null : Clients[client].Key;
        return await call();
    }

    private static Task As(string client, Func<Task> call) => As(client, async () => { await call(); return true; });

    private static async Task<string> RefusedAs(string client, Func<Task> call) =>
        (await Assert.ThrowsAsync<UnauthorizedAccessException>(() => As(client, call))).Message;

    private async Task<JobStatus> FinishedAs(string client, IFederationGrain job)
    {
        while (true)
        {
            var status = await As(client, job.GetStatusAsync);
            if (status.State != JobState.Running) return status;
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Calls_without_or_with_a_wrong_credential_are_refused_and_change_nothing()
    {
        var job = Grains.GetGrain<IFederationGrain>("guarded");
        var spec = TestCluster.SyntheticJob(rounds: 1, gateways: 3);

        Assert.Contains("no credential", await RefusedAs("nobody", () => job.StartAsync(spec)));
        Signer.Value = new ClientCredential("operator", RandomNumberGenerator.GetBytes(32));
        Assert.Contains("invalid credential signature", (await Assert.ThrowsAsync<UnauthorizedAccessException>(() => job.StartAsync(spec))).Message);
        Assert.Null(await As("operator", job.GetSpecAsync));
    }

    [Fact]
    public async Task No_client_key_reaches_a_gateway_a_site_ledger_or_a_model_version_not_even_an_operators()
    {
        var job = Grains.GetGrain<IFederationGrain>("internal");
        var spec = TestCluster.SyntheticJob(rounds: 1, gateways: 3);
        await As("operator", () => job.StartAsync(spec));
        await FinishedAs("operator", job);
        var site = await As("operator", Grains.GetGrain<ISiteLedgerGrain>("gw-00").GetReportAsync);
        var version0 = await As("operator", () => job.GetModelVersionAsync(0));
        var gateway = Grains.GetGrain<IGatewayGrain>(IGatewayGrain.Key("internal", "gw-00"));
        var noNoise = spec with { Privacy = new PrivacySpec { NoiseLevel = "none" } };

        // The attack this closes: train on a site's private data without noise and take the delta.
        Assert.Contains("internal to the cluster", await RefusedAs("operator", () => gateway.JoinAsync(noNoise)));
        Assert.Contains("internal to the cluster", await RefusedAs("operator", () => gateway.TrainAsync(new RoundTask(2, 1, version0.Weights))));
        Assert.Contains("internal to the cluster", await RefusedAs("operator", gateway.GetPrivacyAsync));
        var forged = new SiteSpend("internal", "gw-00", 99, 9, [new PrivacyCharge(1, 0.01, 10_000, Mechanism.DpSgd)], DateTimeOffset.UtcNow);
        Assert.Contains("internal to the cluster", await RefusedAs("operator", () => Grains.GetGrain<ISiteLedgerGrain>("gw-00").SpendAsync(forged, "challenge")));
        Assert.Contains("internal to the cluster", await RefusedAs("operator", () => Grains.GetGrain<ISiteDirectoryGrain>(0).RegisterAsync("fake")));
        var stored = Grains.GetGrain<IModelVersionGrain>(IModelVersionGrain.Key("internal", 0));
        Assert.Contains("internal to the cluster", await RefusedAs("operator", () => stored.StoreAsync([1, 2, 3])));
        Assert.Contains("internal to the cluster", await RefusedAs("operator", stored.ForgetAsync));
        Assert.Contains("internal to the cluster", await RefusedAs("operator", () => Grains.GetGrain<IManagementGrain>(0).GetHosts()));
        RequestContext.Set(InternalCalls.RequestContextKey, InternalCalls.Proof(RandomNumberGenerator.GetBytes(32), "fedgrains.gateway", "GetPrivacyAsync",
            gateway.GetGrainId().ToString(), DateTimeOffset.UtcNow)); // posing as a grain without the cluster's key
        Assert.Contains("internal to the cluster", await RefusedAs("operator", gateway.GetPrivacyAsync));
        RequestContext.Clear();

        Assert.Equal(site.Epsilon, (await As("operator", Grains.GetGrain<ISiteLedgerGrain>("gw-00").GetReportAsync)).Epsilon);
        Assert.Equal(version0.Weights, (await As("operator", () => job.GetModelVersionAsync(0))).Weights);
    }

    [Fact]
    public async Task A_token_is_good_for_one_call_with_its_own_arguments()
    {
        var job = Grains.GetGrain<IFederationGrain>("replayed");
        await As("operator", () => job.StartAsync(TestCluster.SyntheticJob(rounds: 2, gateways: 3)));
        await FinishedAs("operator", job);
        await As("viewer", () => job.GetModelVersionAsync(0));
        var captured = lastToken!; // as read off the wire

        Signer.Value = null;
        RequestContext.Set(Signatures.RequestContextKey, captured);
        var replayed = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => job.GetModelVersionAsync(0));
        RequestContext.Set(Signatures.RequestContextKey, captured);
        var otherArguments = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => job.GetModelVersionAsync(1));
        RequestContext.Set(Signatures.RequestContextKey, captured);
        var otherMethod = await Assert.ThrowsAsync<UnauthorizedAccessException>(job.CancelAsync);
        RequestContext.Clear();

        Assert.Contains("used before", replayed.Message);
        Assert.Contains("other arguments", otherArguments.Message);
        Assert.Contains("invalid credential signature", otherMethod.Message);
        Assert.Equal(JobState.Completed, (await As("operator", job.GetStatusAsync)).State);
    }

    [Fact]
    public async Task Submitters_see_and_cancel_only_their_own_jobs_viewers_only_read_and_site_admins_see_their_site()
    {
        var job = Grains.GetGrain<IFederationGrain>("alices");
        var spec = TestCluster.SyntheticJob(rounds: 200, gateways: 3);
        await As("alice", () => job.StartAsync(spec));
        while ((await As("alice", job.GetStatusAsync)).RoundsCompleted < 1) await Task.Delay(50); // the sites have spent, so they are listed

        Assert.Contains("not bob's", await RefusedAs("bob", job.GetStatusAsync));
        Assert.Contains("not bob's", await RefusedAs("bob", job.CancelAsync));
        Assert.Contains("not bob's", await RefusedAs("bob", () => job.GetModelVersionAsync(0)));
        Assert.Contains("is taken", await RefusedAs("bob", () => job.StartAsync(spec)));
        Assert.DoesNotContain("alices", (await As("bob", Grains.GetGrain<IJobDirectoryGrain>(0).ListAsync)).Select(j => j.JobId));
        Assert.Contains("alices", (await As("alice", Grains.GetGrain<IJobDirectoryGrain>(0).ListAsync)).Select(j => j.JobId));

        Assert.Equal(JobState.Running, (await As("viewer", job.GetStatusAsync)).State);
        Assert.Contains("viewer, which may not cancel jobs", await RefusedAs("viewer", job.CancelAsync));
        Assert.Contains("viewer, which may not submit jobs", await RefusedAs("viewer", () => Grains.GetGrain<IFederationGrain>("viewers").StartAsync(spec)));
        Assert.Contains("may not read site ledgers", await RefusedAs("alice", Grains.GetGrain<ISiteLedgerGrain>("gw-00").GetReportAsync));

        Assert.Equal(JobState.Running, (await As("admin-00", job.GetStatusAsync)).State); // the job trains on gw-00's data
        Assert.Equal("gw-00", (await As("admin-00", Grains.GetGrain<ISiteLedgerGrain>("gw-00").GetReportAsync)).SiteId);
        Assert.Contains("only that site's ledger", await RefusedAs("admin-00", Grains.GetGrain<ISiteLedgerGrain>("gw-01").GetReportAsync));
        Assert.Contains("site-admin:gw-00, which may not cancel jobs", await RefusedAs("admin-00", job.CancelAsync));
        Assert.Equal(["gw-00"], await As("admin-00", Grains.GetGrain<ISiteDirectoryGrain>(0).ListAsync));
        Assert.Equal(["gw-00"], (await As("admin-00", job.GetGatewayPrivacyAsync)).Select(p => p.GatewayId)); // not the other sites' ledgers
        Assert.Equal(["gw-00"], (await As("admin-00", job.GetGatewaysAsync)).Select(p => p.GatewayId));
        Assert.Equal(3, (await As("operator", job.GetGatewaysAsync)).Count);

        Assert.Equal(JobState.Cancelled, (await As("alice", job.CancelAsync)).State);
    }

    [Fact]
    public async Task Signed_requests_run_a_job_and_updates_without_a_valid_site_signature_are_rejected()
    {
        var job = Grains.GetGrain<IFederationGrain>("signed");

        await As("operator", () => job.StartAsync(TestCluster.SyntheticJob(rounds: 2, gateways: 3)));
        var status = await FinishedAs("operator", job);

        Assert.Equal(JobState.Completed, status.State);
        var history = await As("operator", job.GetHistoryAsync);
        Assert.All(history, r =>
        {
            Assert.Equal(["gw-00", "gw-01"], r.Participants);
            Assert.Contains("no site key for 'gw-02'", Assert.Single(r.Rejected).Reason);
        });
    }
}
