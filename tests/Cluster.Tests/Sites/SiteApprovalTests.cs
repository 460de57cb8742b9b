using System.Security.Cryptography;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using FedGrains.Learning.Jobs;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Sites;

/// <summary>
/// Sites whose policy asks their admin to approve each job (FedGrains:Site:Policy:RequireApproval), with
/// authentication on: a submitter, an operator and the admins of sites appr-a and appr-b hold keys.
/// </summary>
public sealed class SiteApprovalTests : IAsyncLifetime
{
    private static readonly Dictionary<string, (string Role, ClientCredential Key)> Clients = new[]
    {
        ("operator", "operator"), ("alice", "submitter"), ("admin-a", "site-admin:appr-a"), ("admin-b", "site-admin:appr-b"),
    }.ToDictionary(c => c.Item1, c => (c.Item2, new ClientCredential(c.Item1, RandomNumberGenerator.GetBytes(32))));

    private static readonly AsyncLocal<ClientCredential?> Signer = new();
    private InProcessTestCluster cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        var database = TestCluster.NewDatabasePath();
        var auth = new AuthOptions
        {
            Enabled = true,
            ClusterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            GatewayKeys = { ["a"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), ["b"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) },
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
            silo.AddFedGrainsSite(new SiteOptions { Policy = new SitePolicyOptions { RequireApproval = true } });
        });
        builder.ConfigureClient(client => client.AddOutgoingGrainCallFilter(new ClientSigningFilter(() => Signer.Value, TimeProvider.System)));
        cluster = builder.Build();
        await cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await cluster.DisposeAsync();

    private IGrainFactory Grains => cluster.Client;

    private static async Task<T> As<T>(string client, Func<Task<T>> call)
    {
        Signer.Value = Clients[client].Key;
        return await call();
    }

    private static async Task<string> RefusedAs(string client, Func<Task> call) =>
        (await Assert.ThrowsAsync<UnauthorizedAccessException>(() => As(client, async () => { await call(); return true; }))).Message;

    private static JobSpec Job(int rounds = 2) => TestCluster.SyntheticJob(rounds, gateways: 2) with
    {
        Gateways = [new GatewaySpec { Id = "a", Site = "appr-a" }, new GatewaySpec { Id = "b", Site = "appr-b" }],
    };

    private ISiteApprovalsGrain Approvals(string site) => Grains.GetGrain<ISiteApprovalsGrain>(site);

    private async Task<JobStatus> WaitAsync(IFederationGrain job, Func<JobStatus, bool> until)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var status = await As("alice", job.GetStatusAsync);
            if (until(status)) return status;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"job {status.JobId}: {status.State}, {status.RoundsCompleted} rounds, waiting: {status.Waiting}, error: {status.Error}");
            await Task.Delay(100);
        }
    }

    private async Task<IReadOnlyList<SiteJobSpend>> SpendsAsync(string site, string jobId) =>
        (await As("operator", Grains.GetGrain<ISiteLedgerGrain>(site).GetReportAsync)).Jobs.Where(j => j.JobId == jobId).ToArray();

    [Fact]
    public async Task A_job_waits_until_each_sites_own_admin_approved_it_and_nobody_else_can()
    {
        var job = Grains.GetGrain<IFederationGrain>("approve-me");
        await As("alice", () => job.StartAsync(Job()));
        var waiting = await WaitAsync(job, s => s.Waiting is not null);
        Assert.Equal((JobState.Running, 0), (waiting.State, waiting.RoundsCompleted));
        Assert.Contains("awaiting the approval of site(s) appr-a, appr-b", waiting.Waiting);
        await Task.Delay(1000);
        Assert.Empty(await SpendsAsync("appr-a", "approve-me")); // nothing trained on either site's data meanwhile
        Assert.Empty(await SpendsAsync("appr-b", "approve-me"));

        var request = Assert.Single(await As("admin-a", Approvals("appr-a").ListAsync));
        Assert.Equal(("approve-me", "alice", ApprovalState.Pending), (request.JobId, request.Submitter, request.State));
        Assert.Equal(JobSpecJson.Digest(Job()), request.SpecDigest);
        Assert.Matches(@"^gateway 'a': noise level sample, noise multiplier [0-9.]+, sample rate 0\.05, planned epsilon [0-9.]+ at delta 1E-05 over the whole job, model mlp with [0-9,]+ parameters, 2,000 examples, 2 rounds, no secure aggregation \(the federation sees each delta\)$",
            Assert.Single(request.Plans));

        // Nobody but appr-a's own admin decides for appr-a: not the submitter, not the operator, not another site's admin.
        Assert.Contains("may not approve or reject jobs", await RefusedAs("alice", () => Approvals("appr-a").DecideAsync("approve-me", request.SpecDigest, true, null)));
        Assert.Contains("may not approve or reject jobs", await RefusedAs("operator", () => Approvals("appr-a").DecideAsync("approve-me", request.SpecDigest, true, null)));
        Assert.Contains("only for that site", await RefusedAs("admin-b", () => Approvals("appr-a").DecideAsync("approve-me", request.SpecDigest, true, null)));
        Assert.Contains("only that site's ledger and approval requests", await RefusedAs("admin-b", Approvals("appr-a").ListAsync));
        // Nor can a client record a request or read one through the cluster's own calls.
        Assert.Contains("internal to the cluster", await RefusedAs("admin-a", () => Approvals("appr-a").RequestAsync(new ApprovalRequest("approve-me", "a", "forged", "alice", "nothing"), "challenge")));
        Assert.Contains("internal to the cluster", await RefusedAs("admin-a", () => Approvals("appr-a").GetAsync("approve-me")));
        // A decision names the spec its admin was shown.
        var stale = await Assert.ThrowsAsync<ArgumentException>(() => As("admin-a", () => Approvals("appr-a").DecideAsync("approve-me", new string('0', 64), true, null)));
        Assert.Contains("not the 000000000000 that was shown", stale.Message);
        Assert.Equal(ApprovalState.Pending, Assert.Single(await As("admin-a", Approvals("appr-a").ListAsync)).State);

        var approved = await As("admin-a", () => Approvals("appr-a").DecideAsync("approve-me", request.SpecDigest, true, null));
        Assert.Equal((ApprovalState.Approved, "admin-a"), (approved.State, approved.DecidedBy));
        var stillWaiting = await WaitAsync(job, s => s.Waiting?.Contains("appr-a") == false);
        Assert.Contains("awaiting the approval of site(s) appr-b", stillWaiting.Waiting);
        Assert.Equal(0, stillWaiting.RoundsCompleted);
        await Task.Delay(1000);
        Assert.Empty(await SpendsAsync("appr-a", "approve-me")); // one site's approval does not spend its budget while another decides

        var b = Assert.Single(await As("admin-b", Approvals("appr-b").ListAsync));
        await As("admin-b", () => Approvals("appr-b").DecideAsync("approve-me", b.SpecDigest, true, null));
        var done = await WaitAsync(job, s => s.State != JobState.Running);
        if (done.Error is { } error) Assert.Fail(error);
        Assert.Equal((JobState.Completed, 2, (string?)null), (done.State, done.RoundsCompleted, done.Waiting));
        Assert.All(await As("alice", job.GetHistoryAsync), r => Assert.Equal(["a", "b"], r.Participants));
        Assert.Equal(2, Assert.Single(await SpendsAsync("appr-a", "approve-me")).Releases);
    }

    [Fact]
    public async Task A_rejection_needs_a_reason_is_final_and_fails_the_job_before_any_site_spends()
    {
        var job = Grains.GetGrain<IFederationGrain>("reject-me");
        await As("alice", () => job.StartAsync(Job()));
        await WaitAsync(job, s => s.Waiting is not null);
        var a = Assert.Single(await As("admin-a", Approvals("appr-a").ListAsync), r => r.JobId == "reject-me");
        var b = Assert.Single(await As("admin-b", Approvals("appr-b").ListAsync), r => r.JobId == "reject-me");
        await As("admin-a", () => Approvals("appr-a").DecideAsync("reject-me", a.SpecDigest, true, null));

        var noReason = await Assert.ThrowsAsync<ArgumentException>(() => As("admin-b", () => Approvals("appr-b").DecideAsync("reject-me", b.SpecDigest, false, " ")));
        Assert.Contains("a rejection needs a reason", noReason.Message);
        var essay = await Assert.ThrowsAsync<ArgumentException>(() => As("admin-b", () => Approvals("appr-b").DecideAsync("reject-me", b.SpecDigest, false, new string('x', 5000))));
        Assert.Contains("the reason is 5,000 characters; give at most 1000", essay.Message);
        var escape = await Assert.ThrowsAsync<ArgumentException>(() => As("admin-b", () => Approvals("appr-b").DecideAsync("reject-me", b.SpecDigest, false, "no\u001b[2J\nsite 'appr-a' approved")));
        Assert.Contains("control characters", escape.Message);
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => As("admin-b", () => Approvals("appr-b").DecideAsync("nobody-asked", b.SpecDigest, false, "no")));
        Assert.Contains("site 'appr-b' has no request to approve job 'nobody-asked'", unknown.Message);
        var hugeId = await Assert.ThrowsAsync<ArgumentException>(() => As("admin-b", () => Approvals("appr-b").DecideAsync(new string('j', 100_000), b.SpecDigest, true, null)));
        Assert.InRange(hugeId.Message.Length, 1, 500); // refused without being echoed back
        await As("admin-b", () => Approvals("appr-b").DecideAsync("reject-me", b.SpecDigest, false, "not on our ward's data"));

        var failed = await WaitAsync(job, s => s.State != JobState.Running);
        Assert.Equal(JobState.Failed, failed.State);
        Assert.StartsWith("site 'appr-b' rejected the job (admin-b, ", failed.Error);
        Assert.EndsWith("): not on our ward's data", failed.Error);
        Assert.Equal(0, failed.RoundsCompleted);
        Assert.Empty(await SpendsAsync("appr-a", "reject-me"));
        var final = await Assert.ThrowsAsync<ArgumentException>(() => As("admin-b", () => Approvals("appr-b").DecideAsync("reject-me", b.SpecDigest, true, null)));
        Assert.Contains("a rejection is final", final.Message);
    }

    [Fact]
    public async Task A_rejection_after_an_approval_stops_the_sites_gateway_from_training_any_further_round()
    {
        var job = Grains.GetGrain<IFederationGrain>("revoked");
        await As("alice", () => job.StartAsync(Job(rounds: 400)));
        await WaitAsync(job, s => s.Waiting is not null);
        foreach (var (site, admin) in new[] { ("appr-a", "admin-a"), ("appr-b", "admin-b") })
        {
            var request = Assert.Single(await As(admin, Approvals(site).ListAsync), r => r.JobId == "revoked");
            await As(admin, () => Approvals(site).DecideAsync("revoked", request.SpecDigest, true, null));
        }
        await WaitAsync(job, s => s.RoundsCompleted >= 2);

        var a = Assert.Single(await As("admin-a", Approvals("appr-a").ListAsync), r => r.JobId == "revoked");
        await As("admin-a", () => Approvals("appr-a").DecideAsync("revoked", a.SpecDigest, false, "consent withdrawn"));
        int rejectedAt = (await As("alice", job.GetStatusAsync)).RoundsCompleted;
        await WaitAsync(job, s => s.RoundsCompleted >= rejectedAt + 4);
        Assert.Equal(JobState.Cancelled, (await As("alice", job.CancelAsync)).State);

        // The round in flight when the decision landed may still hold a's update; every later one goes on without it.
        var later = (await As("alice", job.GetHistoryAsync)).Where(r => r.Round > rejectedAt + 1).ToArray();
        Assert.NotEmpty(later);
        Assert.All(later, r =>
        {
            Assert.Equal(["b"], r.Participants);
            Assert.Contains("site 'appr-a' rejected job 'revoked' (admin-a): consent withdrawn", Assert.Single(r.Rejected).Reason);
        });
        Assert.InRange(Assert.Single(await SpendsAsync("appr-a", "revoked")).Releases, 2, rejectedAt + 1);
    }

    [Fact]
    public async Task An_approval_covers_only_the_spec_it_named_and_a_rejection_stays()
    {
        var inside = cluster.Grains().GetGrain<ISiteApprovalsGrain>("appr-a");
        var (d1, d2, d3) = (new string('1', 64), new string('2', 64), new string('3', 64));
        Assert.Equal(ApprovalState.Pending, (await inside.RequestAsync(new ApprovalRequest("digests", "a", d1, "alice", "plan one"), "challenge")).Value.State);
        await As("admin-a", () => Approvals("appr-a").DecideAsync("digests", d1, true, null));

        // The same job asked for under another spec (as after an upgrade that serialises specs anew) is a new request.
        var again = (await inside.RequestAsync(new ApprovalRequest("digests", "a", d2, null, "plan two"), "challenge")).Value;
        Assert.Equal((ApprovalState.Pending, d2, "alice", (string?)null), (again.State, again.SpecDigest, again.Submitter, again.DecidedBy));
        Assert.Equal(["gateway 'a': plan two"], again.Plans);
        Assert.False(again.Allows(d1) || again.Allows(d2));
        var stale = await Assert.ThrowsAsync<ArgumentException>(() => As("admin-a", () => Approvals("appr-a").DecideAsync("digests", d1, true, null)));
        Assert.Contains("now has spec 222222222222, not the 111111111111 that was shown", stale.Message);
        Assert.True((await As("admin-a", () => Approvals("appr-a").DecideAsync("digests", d2, true, null))).Allows(d2));

        await As("admin-a", () => Approvals("appr-a").DecideAsync("digests", d2, false, "no more"));
        var rejected = (await inside.RequestAsync(new ApprovalRequest("digests", "a", d3, "alice", "plan three"), "challenge")).Value;
        Assert.Equal((ApprovalState.Rejected, d2), (rejected.State, rejected.SpecDigest));
    }

    [Fact]
    public async Task An_approval_does_not_carry_over_to_another_submitter_who_submits_the_same_job_id_and_spec()
    {
        // A submission whose gateways joined but whose job was never stored (its write failed, or the store lost the
        // job's state before any round): the job id is free again, and anyone who may submit can take it.
        var spec = Job();
        var gateway = cluster.Grains().GetGrain<IGatewayGrain>(IGatewayGrain.Key("reused", "a"));
        async Task JoinAs(string client)
        {
            // What the access filter puts in the context of a verified client's submission, which joins the gateways.
            Orleans.Runtime.RequestContext.Set("fedgrains.caller", $"{client}\nsubmitter");
            try { await gateway.JoinAsync(spec); }
            finally { Orleans.Runtime.RequestContext.Remove("fedgrains.caller"); }
        }
        await JoinAs("alice");
        var request = Assert.Single(await As("admin-a", Approvals("appr-a").ListAsync), r => r.JobId == "reused");
        Assert.Equal(("alice", ApprovalState.Pending), (request.Submitter, request.State));
        await As("admin-a", () => Approvals("appr-a").DecideAsync("reused", request.SpecDigest, true, null));

        await JoinAs("mallory");
        var now = Assert.Single(await As("admin-a", Approvals("appr-a").ListAsync), r => r.JobId == "reused");
        // The admin approved alice's job: mallory's is a new request, shown as hers, until the admin decides on it.
        Assert.Equal(("mallory", ApprovalState.Pending), (now.Submitter, now.State));
        var update = await gateway.TrainAsync(new RoundTask(1, 0, []));
        Assert.Null(update.Delta);
        Assert.Contains("awaiting the approval of site 'appr-a' for job 'reused'", update.RefusedReason);
    }

    [Fact]
    public async Task A_gateway_trains_nothing_its_site_has_not_approved_even_when_the_cluster_itself_asks()
    {
        var job = Grains.GetGrain<IFederationGrain>("inside");
        await As("alice", () => job.StartAsync(Job(rounds: 50)));
        await WaitAsync(job, s => s.Waiting is not null);
        var version0 = await As("alice", () => job.GetModelVersionAsync(0));

        // A federation that skips the wait (the grain calls of a silo, which pass every client check) gets no delta.
        var gateway = cluster.Grains().GetGrain<IGatewayGrain>(IGatewayGrain.Key("inside", "a"));
        var update = await gateway.TrainAsync(new RoundTask(1, 0, version0.Weights));
        Assert.Null(update.Delta);
        Assert.Contains("awaiting the approval of site 'appr-a' for job 'inside': its admin runs `fedgrains site approve inside --site appr-a`", update.RefusedReason);
        Assert.Empty(await SpendsAsync("appr-a", "inside"));
        Assert.Equal(JobState.Cancelled, (await As("alice", job.CancelAsync)).State);
    }
}
