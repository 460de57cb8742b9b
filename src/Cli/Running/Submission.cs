using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using StackExchange.Redis;

namespace FedGrains.Cli.Running;

/// <summary>
/// Submits a job to a cluster that may be losing a silo or restarting its store meanwhile. Submitting the same id and
/// spec again is a no-op, so a submission that failed because a silo or the store did not answer is made again, for up
/// to <see cref="Patience"/>. A submission in flight when the silo running it dies gets no answer at all (Orleans
/// waits out the call's five-minute timeout): while it waits, the job's status is asked every few seconds, and once
/// another silo answers than at first, the activation that had the submission is gone and it is made again.
/// </summary>
internal static class Submission
{
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan StatusEvery = TimeSpan.FromSeconds(3);

    public static async Task<JobStatus> SubmitAsync(IFederationGrain job, JobSpec spec, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                if (await AttemptAsync(job, spec, cancellationToken) is { } status) return status;
            }
            catch (Exception e) when (Transient(e) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    /// <summary>What a silo or the store failing to answer looks like to a client (as opposed to a refusal).</summary>
    public static bool Transient(Exception e) => e is OrleansException or TimeoutException or RedisException;

    /// <summary>The federation's answer, or null when the silo running the submission died before it answered.</summary>
    private static async Task<JobStatus?> AttemptAsync(IFederationGrain job, JobSpec spec, CancellationToken cancellationToken)
    {
        var start = job.StartAsync(spec);
        // Status queries interleave with the submission, so the first one is answered by the activation running it.
        string? running = await SiloAsync(job);
        while (await Task.WhenAny(start, Task.Delay(StatusEvery, cancellationToken)) != start)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var now = await SiloAsync(job);
            if (running is not null && now is not null && now != running)
            {
                _ = start.ContinueWith(t => t.Exception, TaskScheduler.Default); // its answer will never come; observe the timeout
                return null;
            }
            running ??= now;
        }
        return await start;
    }

    private static async Task<string?> SiloAsync(IFederationGrain job)
    {
        try { return (await job.GetStatusAsync()).Silo; }
        catch (Exception e) when (Transient(e)) { return null; }
    }
}
