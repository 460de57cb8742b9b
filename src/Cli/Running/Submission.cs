using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using StackExchange.Redis;

namespace FedGrains.Cli.Running;

/// <summary>
/// Submits a job to a cluster that may be losing a silo or restarting its store meanwhile. Submitting the same id and
/// spec again is a no-op, so a submission that failed because a silo or the store did not answer is made again, for up
/// to <see cref="Patience"/>. A submission in flight when the silo running it dies gets no answer at all (Orleans
/// waits out the call's five-minute timeout). So the job's status is asked first, which activates the job where the
/// submission then goes, and again every few seconds while it waits: once another silo answers than that first time,
/// the activation that had the submission is gone and it is made again.
/// </summary>
internal static class Submission
{
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan StatusEvery = TimeSpan.FromSeconds(3);

    public static async Task<JobStatus> SubmitAsync(IFederationGrain job, JobSpec spec, byte[]? initialWeights, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                if (await AttemptAsync(job, spec, initialWeights, cancellationToken) is { } status) return status;
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
    private static async Task<JobStatus?> AttemptAsync(IFederationGrain job, JobSpec spec, byte[]? initialWeights, CancellationToken cancellationToken)
    {
        // Status queries interleave with the submission, so they are answered by the activation running it while it lives.
        string running;
        try { running = (await job.GetStatusAsync()).Silo!; }
        catch (UnauthorizedAccessException) { return await job.StartAsync(spec, initialWeights); } // another's job id: the submission's refusal says so
        var start = job.StartAsync(spec, initialWeights);
        while (await Task.WhenAny(start, Task.Delay(StatusEvery, cancellationToken)) != start)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (await SiloAsync(job) is { } now && now != running)
            {
                _ = start.ContinueWith(t => t.Exception, TaskScheduler.Default); // its answer will never come; observe the timeout
                return null;
            }
        }
        return await start;
    }

    private static async Task<string?> SiloAsync(IFederationGrain job)
    {
        try { return (await job.GetStatusAsync()).Silo; }
        catch (Exception e) when (Transient(e)) { return null; }
    }
}
