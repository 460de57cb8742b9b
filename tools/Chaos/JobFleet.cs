using FedGrains.Grains.Interfaces;

namespace FedGrains.Chaos;

/// <summary>
/// Keeps <see cref="ChaosOptions.ConcurrentJobs"/> jobs running through the real CLI (`fedgrains submit`, retried
/// while the cluster cannot be reached), and follows them with a client: when any round completes, when each ends.
/// </summary>
internal sealed class JobFleet(ChaosCluster cluster, IClusterClient client, ChaosOptions options)
{
    private static readonly TimeSpan SubmitBound = TimeSpan.FromMinutes(7);
    private readonly List<ChaosJob> jobs = [];
    private readonly List<string> cliErrors = [];
    private int submitted;

    public IReadOnlyList<ChaosJob> Jobs { get { lock (jobs) return [.. jobs]; } }
    public IReadOnlyList<string> CliErrors { get { lock (cliErrors) return [.. cliErrors]; } }

    /// <summary>When a poll last saw a job's round count go up (or a job end).</summary>
    public DateTimeOffset LastProgress { get; private set; } = DateTimeOffset.MinValue;

    /// <summary>
    /// Submits jobs to keep the fleet full until <paramref name="stop"/>, several at once (a submission through the
    /// CLI takes seconds, a job not many more); submissions under way are finished first.
    /// </summary>
    public async Task SubmitAsync(CancellationToken stop)
    {
        var submitting = new List<Task>();
        while (!stop.IsCancellationRequested)
        {
            submitting.RemoveAll(t => t.IsCompleted);
            if (Jobs.Count(j => !j.Ended) + submitting.Count < options.ConcurrentJobs) submitting.Add(SubmitOneAsync(++submitted));
            else await Delay(TimeSpan.FromMilliseconds(250), stop);
        }
        await Task.WhenAll(submitting);
    }

    /// <summary>Polls every unfinished job's status, twice a second, until <paramref name="stop"/>.</summary>
    public async Task FollowAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await Task.WhenAll(Jobs.Where(j => !j.Ended).Select(PollAsync));
            await Delay(TimeSpan.FromMilliseconds(500), stop);
        }
    }

    private async Task PollAsync(ChaosJob job)
    {
        try
        {
            var status = await client.GetGrain<IFederationGrain>(job.Id).GetStatusAsync().WaitAsync(TimeSpan.FromSeconds(10));
            bool ended = status.State is JobState.Completed or JobState.Failed or JobState.Cancelled;
            if (status.RoundsCompleted > (job.Last?.RoundsCompleted ?? 0) || ended) LastProgress = DateTimeOffset.UtcNow;
            job.Last = status;
            if (ended)
            {
                job.Ended = true;
                options.Log($"  job {job.Id}: {status.State} after {status.RoundsCompleted}/{status.TotalRounds} rounds{(status.Error is { } e ? $": {e}" : "")}");
            }
        }
        catch (Exception e) when (e is OrleansException or TimeoutException or OperationCanceledException) { } // its silo is down: the next poll asks again
    }

    private async Task SubmitOneAsync(int number)
    {
        var job = new ChaosJob($"chaos-{options.Seed}-{number:D3}");
        var spec = Path.Combine(cluster.Directory, $"{job.Id}.json");
        await File.WriteAllTextAsync(spec, $$"""
            { "seed": {{number}}, "rounds": {{options.Rounds}}, "gateway_count": {{options.Gateways}}, "model": { "hidden": [16] },
              "dataset": { "kind": "synthetic" }, "defaults": { "batch_size": 40, "learning_rate": 0.5 },
              "privacy": { "target_epsilon": 3, "delta": 1e-5 }, "round_timeout_seconds": 30 }
            """);
        var giveUp = DateTime.UtcNow.AddMinutes(10);
        for (int attempt = 1; DateTime.UtcNow < giveUp; attempt++)
        {
            var (code, output) = await RunSubmitAsync(job.Id, spec);
            if (code == 0) break;
            // Exit 3 (cannot reach the cluster) is the CLI's answer while redis or every silo is down; anything else
            // (a stack trace, a transient fault reported as bad input) is a finding. Resubmitting is a no-op.
            if (code != 3)
            {
                lock (cliErrors) cliErrors.Add($"submit {job.Id} (attempt {attempt}) exited {code}: {Tail(output)}");
                await File.WriteAllTextAsync(Path.Combine(cluster.Directory, "logs", $"cli-submit-{job.Id}.{attempt}.log"), output);
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        lock (jobs) jobs.Add(job);
        options.Log($"  job {job.Id} submitted");
    }

    /// <summary>`fedgrains submit`, with FEDGRAINS_TRACE=1 so that an error the CLI did not expect comes with its stack trace in the logs.</summary>
    private async Task<(int Code, string Output)> RunSubmitAsync(string jobId, string spec)
    {
        using var cli = ProcessRunner.StartDotnet("fedgrains.dll",
            ["submit", "--spec", spec, "--job-id", jobId, "--cluster", cluster.Cluster, "--credential", cluster.Credential],
            new Dictionary<string, string> { ["FEDGRAINS_TRACE"] = "1" });
        // Its own bounds: 30 s to connect, the submission's 5-minute call timeout, a minute of retries.
        try { return (await cli.WaitAsync(SubmitBound), cli.Output); }
        catch (OperationCanceledException) { return (-1, $"no answer within {SubmitBound.TotalMinutes} minutes (killed)\n" + cli.Output); }
    }

    /// <summary>The lines that say what went wrong, without the stack trace (which the logs keep).</summary>
    private static string Tail(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => !l.StartsWith("at ", StringComparison.Ordinal));
        return string.Join(" | ", lines.Take(3));
    }

    private static async Task Delay(TimeSpan delay, CancellationToken stop)
    {
        try { await Task.Delay(delay, stop); }
        catch (OperationCanceledException) { }
    }
}

/// <summary>One job of the run and what the last poll saw.</summary>
internal sealed class ChaosJob(string id)
{
    public string Id { get; } = id;
    public JobStatus? Last { get; set; }
    public bool Ended { get; set; }
}
