using System.Text.Json;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Sites;

/// <summary>
/// The crash window between a site's record of a spend and its gateway's record of the release (see
/// ReleaseReconciler): gateway "b" of site "crash" has its spend for round 2 recorded by the site's ledger and then
/// never finishes training, because its silo is killed while it draws its noise, or because training fails. The round
/// completes without it, or (when it needs both gateways) is retried. Afterwards both ledgers hold exactly the same
/// releases, round 2 once, and each says the epsilon the accountant gives for those steps.
/// </summary>
public sealed class LedgerReconciliationTests
{
    private const string Stay = "stay", Crash = "crash";

    /// <summary>Seeded noise, except the first draw for one purpose, which blocks for good (its silo is then killed) or throws.</summary>
    private sealed class Trip(string purpose, bool block) : INoiseSourceFactory
    {
        private readonly SeededNoiseSources seeded = new();
        private int fired;

        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public INoiseSource Create(long jobSeed, string forWhat, bool secure)
        {
            if (forWhat == purpose && Interlocked.Exchange(ref fired, 1) == 0)
            {
                Reached.SetResult();
                if (block) new ManualResetEventSlim().Wait(); // a training that never ends: its silo dies with it
                throw new InvalidOperationException("training failed while drawing its noise (test)");
            }
            return seeded.Create(jobSeed, forWhat, secure);
        }
    }

    private static JobSpec Job(int minUpdates) => TestCluster.SyntheticJob(rounds: 5, gateways: 2) with
    {
        GatewayCount = 0,
        Gateways = [new GatewaySpec { Id = "a", Site = Stay }, new GatewaySpec { Id = "b", Site = Crash }],
        MinUpdatesPerRound = minUpdates,
        RoundTimeoutSeconds = 60,
    };

    /// <summary>Silo_0 hosts no gateways, Silo_1 serves "stay"; every later silo serves "crash".</summary>
    private static async Task<InProcessTestCluster> StartAsync(string database, Trip trip)
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((options, silo) =>
        {
            bool primary = options.SiloName == TestCluster.PrimarySilo;
            silo.AddFedGrainsSqliteStorage(database);
            silo.AddFedGrains(new FedGrainsSiloOptions
            {
                HostsGateways = !primary, Site = primary ? null : options.SiloName == "Silo_1" ? Stay : Crash,
                Device = "cpu", TorchThreads = 1, SeededNoiseForTests = true, RoundTickMilliseconds = 20,
            });
            silo.Services.Replace(ServiceDescriptor.Singleton<INoiseSourceFactory>(trip));
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>
    /// "silo killed" and "training failed": round 2 completes without b, whose round-2 spend stays unreleased on both
    /// ledgers. "failed, round retried": round 2 needs both gateways, so it is asked again with the same request, and b
    /// trains under its adopted spend without being charged a second time.
    /// </summary>
    public static TheoryData<string> Windows => ["silo killed", "training failed", "failed, round retried"];

    [Theory, MemberData(nameof(Windows))]
    public async Task A_spend_the_site_recorded_and_the_gateway_did_not_finish_is_on_both_ledgers_once(string window)
    {
        bool siloKilled = window == "silo killed", retried = window == "failed, round retried";
        var spec = Job(minUpdates: retried ? 2 : 1);
        var trip = new Trip("noise/b/2", block: siloKilled);
        var cluster = await StartAsync(TestCluster.NewDatabasePath(), trip);
        try
        {
            // The job activates before the "crash" site's silo exists, so killing that silo cannot take the job with it.
            var job = cluster.Client.GetGrain<IFederationGrain>("reconcile");
            Assert.Equal(JobState.NotStarted, (await job.GetStatusAsync()).State);
            var crashSilo = await cluster.StartAdditionalSiloAsync();
            await job.StartAsync(spec);

            await trip.Reached.Task.WaitAsync(TimeSpan.FromMinutes(2));
            if (siloKilled)
            {
                Assert.Contains($":{crashSilo.SiloAddress.Endpoint.Port}:", await cluster.Grains().GetGrain<IGatewayGrain>(IGatewayGrain.Key("reconcile", "b")).GetSiloAsync());
                await cluster.KillSiloAsync(crashSilo);
                await cluster.StartAdditionalSiloAsync(); // the site is back on a new silo
            }
            var end = await TestCluster.WaitAsync(job, s => s.State != JobState.Running, TimeSpan.FromMinutes(4), tolerateSiloLoss: true);
            Assert.True(end.State == JobState.Completed, $"{end.State}: {end.Error}");

            var history = await job.GetHistoryAsync();
            Assert.Equal(Enumerable.Range(1, spec.Rounds), history.Select(r => r.Round));
            Assert.Equal(retried, history.Single(r => r.Round == 2).Participants.Contains("b"));
            int used = history.Count(r => r.Participants.Contains("b"));
            var gateway = (await job.GetGatewayPrivacyAsync()).Single(p => p.GatewayId == "b");
            var site = await cluster.Client.GetGrain<ISiteLedgerGrain>(Crash).GetReportAsync();
            var recorded = site.Jobs.Single(j => j.JobId == "reconcile" && j.GatewayId == "b");

            // The same releases on both ledgers: every round it took part in, and round 2 if it did not.
            Assert.Equal(retried ? used : used + 1, recorded.Releases);
            Assert.Equal(recorded.Releases, gateway.Releases);
            Assert.Equal(recorded.Steps, gateway.Steps);
            Assert.Equal(PrvAccountant.Epsilon(gateway.SampleRate, gateway.NoiseMultiplier, gateway.Steps, gateway.Delta), gateway.Epsilon!.Value, 9);
            Assert.Equal(PrvAccountant.Epsilon(recorded.SampleRate, recorded.NoiseMultiplier, recorded.Steps, site.Delta), recorded.Epsilon, 9);
            Assert.Equal(gateway.Epsilon!.Value, recorded.Epsilon, 9); // the same delta here (1e-5), so the same epsilon
            Assert.True(gateway.Epsilon <= spec.Privacy.TargetEpsilon);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    /// <summary>
    /// `fedgrains run` SIGKILLed while a gateway trains, after its site recorded the spend (the store shows the site's
    /// ledger one write ahead of the gateway's), then run again: the round is asked again with the same request, the
    /// gateway trains under the spend it adopts from its site, and each ledger ends with one release per round.
    /// </summary>
    [Fact]
    public async Task A_run_killed_between_a_sites_record_and_its_gateways_resumes_with_one_release_a_round_on_both()
    {
        var dir = Directory.CreateTempSubdirectory("fedgrains-killed-").FullName;
        try
        {
            var output = Path.Combine(dir, "out");
            var db = Path.Combine(output, "state", "fedgrains.db");
            string[] args = ["run", "--dataset", "synthetic", "--gateways", "2", "--rounds", "6", "--hidden", "256", "--local-epochs", "5", "--output", output, "--job-id", "k"];
            using (var first = ProcessRunner.StartDotnet("fedgrains.dll", args))
            {
                var deadline = DateTime.UtcNow.AddMinutes(2);
                while (!SiteAheadOfGateway(db))
                {
                    Assert.False(first.HasExited || DateTime.UtcNow > deadline, "the run ended before a kill could land between a site's record and its gateway's:\n" + first.Output);
                    await Task.Delay(2);
                }
                first.Kill();
                await first.WaitAsync(TimeSpan.FromMinutes(1));
            }

            var (code, printed) = await ProcessRunner.RunCliAsync(args);
            Assert.True(code == 0, printed);
            Assert.Contains("adopted 1 spend(s) its site", printed); // the kill did land in the window
            using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "report.json")));
            var history = report.RootElement.GetProperty("history").EnumerateArray().ToArray();
            Assert.Equal(6, history.Length);
            foreach (var gateway in new[] { "gw-00", "gw-01" })
            {
                JsonElement Privacy(JsonElement round) => round.GetProperty("privacy").EnumerateArray().Single(p => p.GetProperty("gateway_id").GetString() == gateway);
                long perRound = Privacy(history[0]).GetProperty("steps").GetInt64();
                Assert.Equal(6, Privacy(history[^1]).GetProperty("releases").GetInt32());
                Assert.Equal(6 * perRound, Privacy(history[^1]).GetProperty("steps").GetInt64());
            }
            // The report checks each site's record against its gateway's own ledger: they agree.
            var (reportCode, reported) = await ProcessRunner.RunCliAsync("privacy", "report", "--state", db);
            Assert.True(reportCode == 0, reported);
            Assert.DoesNotContain("error", reported);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>Some site's ledger holds more spends than its gateway's ledger holds releases (row versions: a site writes once per spend, a gateway once to join and once per release).</summary>
    private static bool SiteAheadOfGateway(string db)
    {
        if (!File.Exists(db)) return false;
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT COUNT(*) FROM grain_state s JOIN grain_state g
                  ON s.grain_type = 'site-ledger' AND g.grain_type = 'gateway' AND g.grain_id = 'gateway/k/' || substr(s.grain_id, length('siteledger/') + 1)
                WHERE CAST(s.etag AS INTEGER) > CAST(g.etag AS INTEGER) - 1
                """;
            return (long)command.ExecuteScalar()! > 0;
        }
        catch (SqliteException) { return false; } // being created
    }
}
