using FedGrains.Cluster.Tests.Sites;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Datasets;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests;

/// <summary>
/// In-process Orleans clusters on a real SQLite file. The primary silo does not host gateways; the secondaries do,
/// so placement can be checked.
/// </summary>
internal static class TestCluster
{
    public const string PrimarySilo = "Silo_0";

    /// <param name="configure">More silo wiring after FedGrains' own (e.g. a site's settings), applied to every silo.</param>
    /// <param name="reminders">Resume reminders on (in memory), as a silo on Redis has them.</param>
    public static async Task<InProcessTestCluster> StartAsync(string databasePath, short silos = 3, Action<ISiloBuilder>? configure = null, bool reminders = false)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.ConfigureSilo((options, silo) =>
        {
            silo.AddFedGrainsSqliteStorage(databasePath);
            silo.AddFedGrains(new FedGrainsSiloOptions
            {
                HostsGateways = options.SiloName != PrimarySilo,
                Device = "cpu",
                MaxConcurrentTrainings = 1,
                TorchThreads = 1,
                SeededNoiseForTests = true,
                RoundTickMilliseconds = 20,
                UseReminders = reminders,
            }, sites: new SitePrivacyOptions { Sites = { [SiteLedgerTests.UpFrontSite] = 3.0, [SiteLedgerTests.RoundSite] = 1.0 } });
            if (reminders) silo.UseInMemoryReminderService();
            configure?.Invoke(silo);
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    public static string NewDatabasePath() =>
        Path.Combine(Path.GetTempPath(), "fedgrains-tests", Guid.NewGuid().ToString("N"), "fedgrains.db");

    /// <summary>A small DP job on the synthetic task that finishes in seconds.</summary>
    public static JobSpec SyntheticJob(int rounds = 3, int gateways = 4) => new()
    {
        Seed = 7,
        Rounds = rounds,
        GatewayCount = gateways,
        Model = new FedGrains.Learning.Models.ModelSpec("mlp", [32]),
        Dataset = new DatasetSpec { Kind = "synthetic", SyntheticTrainExamples = 4000, SyntheticTestExamples = 1000 },
        Defaults = new HyperParameters { LearningRate = 0.5, ClippingNorm = 1.0, BatchSize = 100, LocalEpochs = 1 },
        Privacy = new PrivacySpec { TargetEpsilon = 3, Delta = 1e-5 },
        RoundTimeoutSeconds = 120,
    };

    /// <summary>
    /// Polls the job until <paramref name="until"/> holds (status queries interleave with rounds, so this is cheap).
    /// With <paramref name="tolerateSiloLoss"/>, calls that fail because a silo just died are retried.
    /// </summary>
    public static async Task<JobStatus> WaitAsync(IFederationGrain job, Func<JobStatus, bool> until, TimeSpan? timeout = null, bool tolerateSiloLoss = false)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(3));
        while (true)
        {
            JobStatus status;
            try
            {
                status = await job.GetStatusAsync();
            }
            catch (Exception e) when (tolerateSiloLoss && DateTime.UtcNow < deadline
                                      && e is OrleansMessageRejectionException or SiloUnavailableException or TimeoutException or OrleansException)
            {
                await Task.Delay(250);
                continue;
            }
            if (until(status)) return status;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"job {status.JobId} still {status.State} at round {status.RoundsCompleted}/{status.TotalRounds}.");
            await Task.Delay(25);
        }
    }

    public static Task<JobStatus> WaitFinishedAsync(IFederationGrain job) => WaitAsync(job, s => s.State != JobState.Running);
}
