using System.Net;
using FedGrains.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FedGrains.Chaos;

/// <summary>
/// The chaos run: a real multi-silo cluster on redis (<see cref="ChaosCluster"/>) runs jobs (<see cref="JobFleet"/>)
/// while random members are SIGKILLed at random moments and started again; then every job is audited
/// (<see cref="ChaosAudit"/>). The random choices come from <see cref="ChaosOptions.Seed"/>, drawn in the same order
/// whatever the timing, so a seed replays the same faults.
/// </summary>
public static class ChaosDriver
{
    public static async Task<ChaosReport> RunAsync(ChaosOptions options)
    {
        if (string.Join(" ", options.Problems()) is { Length: > 0 } problems) throw new ArgumentException(problems);
        var started = DateTimeOffset.UtcNow;
        var directory = Directory.CreateTempSubdirectory("fedgrains-chaos-").FullName;
        options.Log($"chaos: seed {options.Seed}, {options.Kills} kills, 1 federation silo + {options.GatewaySilos} gateway silos on redis, " +
                    $"{options.ConcurrentJobs} jobs at a time of {options.Gateways} gateways x {options.Rounds} rounds; logs in {directory}");
        using var cluster = new ChaosCluster(directory, options.GatewaySilos, options.Gateways);
        var report = await RunAsync(cluster, options, started);
        cluster.Stop(keepLogs: !report.Clean);
        return report;
    }

    private static async Task<ChaosReport> RunAsync(ChaosCluster cluster, ChaosOptions options, DateTimeOffset started)
    {
        using var members = new SemaphoreSlim(1);
        cluster.StartAll();
        await WaitReadyAsync(cluster);
        using var host = await ConnectAsync(cluster);
        var client = host.Services.GetRequiredService<IClusterClient>();

        var fleet = new JobFleet(cluster, client, options);
        var unplanned = new List<string>();
        using var stopSubmitting = new CancellationTokenSource();
        using var stopFollowing = new CancellationTokenSource();
        var submitting = fleet.SubmitAsync(stopSubmitting.Token);
        var following = fleet.FollowAsync(stopFollowing.Token);
        var supervising = SuperviseAsync(cluster, members, unplanned, options.Log, stopFollowing.Token);

        IReadOnlyList<Kill> kills;
        try { kills = await DealKillsAsync(cluster, members, fleet, options); }
        catch
        {
            // Nothing may go on starting processes once the run is over.
            await stopSubmitting.CancelAsync();
            await stopFollowing.CancelAsync();
            throw;
        }

        await stopSubmitting.CancelAsync();
        await submitting;
        var drainDeadline = DateTime.UtcNow + options.DrainTimeout;
        while (fleet.Jobs.Any(j => !j.Ended) && DateTime.UtcNow < drainDeadline) await Task.Delay(500);
        await stopFollowing.CancelAsync();
        await Task.WhenAll(following, supervising);

        options.Log("chaos: auditing every job's history and ledgers, and every site's ledger");
        var audit = await ChaosAudit.RunAsync(client, fleet.Jobs.Select(j => j.Id).ToArray(), options);
        return new ChaosReport(options, kills, audit, fleet.CliErrors, unplanned, DateTimeOffset.UtcNow - started, cluster.Directory, cluster.ProcessIds);
    }

    private static async Task<IReadOnlyList<Kill>> DealKillsAsync(ChaosCluster cluster, SemaphoreSlim members, JobFleet fleet, ChaosOptions options)
    {
        var random = new Random(options.Seed);
        var kills = new List<Kill>();
        for (int k = 1; k <= options.Kills; k++)
        {
            // Every draw for this kill first, in a fixed order: the sequence replays whatever the timing.
            var victim = cluster.Members[random.Next(cluster.Members.Count)];
            bool overlap = random.NextDouble() < options.OverlapProbability && k > 1;
            var uptime = TimeSpan.FromSeconds(0.3 + random.NextDouble() * Math.Max(0, options.MaxUptime.TotalSeconds - 0.3));
            var downtime = TimeSpan.FromSeconds(0.2 + random.NextDouble() * Math.Max(0, options.MaxDowntime.TotalSeconds - 0.2));

            // The first kill waits for the first round, so every kill hits a cluster that runs jobs.
            if (kills.Count == 0 || !overlap)
            {
                var since = kills.Count > 0 ? kills[^1].At : DateTimeOffset.MinValue;
                var deadline = DateTimeOffset.UtcNow + options.ProgressTimeout;
                while (fleet.LastProgress <= since && DateTimeOffset.UtcNow < deadline) await Task.Delay(100);
                if (fleet.LastProgress <= since) options.Log($"  no round completed within {options.ProgressTimeout.TotalSeconds:F0} s: dealing kill {k} anyway");
            }
            await Task.Delay(uptime);
            await members.WaitAsync();
            try
            {
                while (victim.Process is null) // it exited on its own and the supervisor has not restarted it yet
                {
                    members.Release();
                    await Task.Delay(200);
                    await members.WaitAsync();
                }
                var at = DateTimeOffset.UtcNow;
                await cluster.KillAsync(victim);
                kills.Add(new Kill(k, victim.Name, at, overlap, downtime));
                options.Log($"kill {k}/{options.Kills}: {victim.Name}{(overlap ? " (before the cluster recovered from the last kill)" : "")}, down {downtime.TotalSeconds:F1} s");
            }
            finally { members.Release(); }
            await Task.Delay(downtime);
            await members.WaitAsync();
            try { cluster.Start(victim); }
            finally { members.Release(); }
        }
        return kills;
    }

    /// <summary>
    /// Starts again any member whose process ended without being killed, as Kubernetes would: a silo started while
    /// redis is down cannot join and exits. Each such exit is reported.
    /// </summary>
    private static async Task SuperviseAsync(ChaosCluster cluster, SemaphoreSlim members, List<string> unplanned, Action<string> log, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await members.WaitAsync(CancellationToken.None);
            try
            {
                foreach (var member in cluster.Members)
                {
                    if (await cluster.ExitedAsync(member) is not { } code) continue;
                    string what = $"{member.Name} exited by itself (exit code {code}, incarnation {member.Incarnation}) at {DateTimeOffset.UtcNow:HH:mm:ss.fff}";
                    lock (unplanned) unplanned.Add(what);
                    log($"  {what}: starting it again");
                    cluster.Start(member);
                }
            }
            finally { members.Release(); }
            try { await Task.Delay(500, stop); }
            catch (OperationCanceledException) { }
        }
    }

    /// <summary>Waits until every silo answers /readyz (it joined the cluster), for up to two minutes.</summary>
    private static async Task WaitReadyAsync(ChaosCluster cluster)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        foreach (var port in cluster.HealthPorts)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || await ProcessRunner.WaitForHttpAsync($"http://127.0.0.1:{port}/readyz", left) != HttpStatusCode.OK)
                throw new TimeoutException($"a silo (health port {port}) was not ready within 2 minutes; see {cluster.Directory}");
        }
    }

    private static async Task<IHost> ConnectAsync(ChaosCluster cluster)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        // The client outlives every kill: its reconnection warnings are expected and would drown the run's own lines.
        builder.Logging.ClearProviders();
        builder.AddFedGrainsClient(cluster.Cluster, cluster.Credential);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }
}

/// <summary>One kill: which one of the run, of whom, when, whether it came before the cluster recovered, and for how long.</summary>
public sealed record Kill(int Number, string Victim, DateTimeOffset At, bool Overlap, TimeSpan Downtime);
