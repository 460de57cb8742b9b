using Xunit.Abstractions;

namespace FedGrains.Cluster.Tests.Hosting;

/// <summary>
/// The chaos run, short: a federation silo and two gateway silos on redis (persistent, with a password), jobs kept
/// running through the CLI, ten SIGKILLs of random members at random moments, each started again. Every job must
/// complete with each round once, every ledger must agree with the history and the accountant, and the CLI must
/// never crash. `scripts/chaos.sh 100` (the bench) runs the long version. FEDGRAINS_CHAOS_SEED replays a run.
/// </summary>
public sealed class ChaosTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Ten_random_kills_of_silos_and_redis_lose_no_round_no_job_and_no_spend()
    {
        var options = new ChaosOptions
        {
            Kills = 10,
            Seed = int.TryParse(Environment.GetEnvironmentVariable("FEDGRAINS_CHAOS_SEED"), out var seed) ? seed : Random.Shared.Next(),
            Log = line => output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.f} {line}"),
        };

        var report = await ChaosDriver.RunAsync(options);

        output.WriteLine(report.ToString());
        Assert.True(report.Clean, report.ToString());
        Assert.Equal(10, report.Kills.Count);
        Assert.True(report.Audit.Jobs >= options.ConcurrentJobs, report.Summary);
    }

    [Fact]
    public async Task A_clean_run_stops_every_process_it_started_and_deletes_its_folder()
    {
        var report = await ChaosDriver.RunAsync(new ChaosOptions { Kills = 0, ConcurrentJobs = 1, Log = output.WriteLine });

        Assert.True(report.Clean, report.ToString());
        Assert.False(Directory.Exists(report.LogsDirectory));
        Assert.Equal(4, report.ProcessIds.Count); // redis and three silos, each started once
        Assert.All(report.ProcessIds, id => Assert.False(Directory.Exists($"/proc/{id}"), $"process {id} outlived the run"));
    }
}
