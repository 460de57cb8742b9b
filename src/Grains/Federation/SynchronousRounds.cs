using System.Diagnostics;
using FedGrains.Grains.Gateway;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Jobs;

namespace FedGrains.Grains.Federation;

/// <summary>
/// Synchronous rounds: each round asks a cohort to train from the current model, waits for all of them (or the
/// deadline), aggregates, and commits the next version. A round that fails is retried whole: when gateways could
/// not be reached (a silo died, a site is offline) with backoff over <see cref="UnreachablePatience"/>, so a silo that
/// is back in seconds does not fail the job; when every gateway answered and too few updates were valid (refusals,
/// rejections), three attempts, as retrying will not change their answers. Under aggregation.secure a round is one
/// <see cref="SecureRound"/> per attempt; an aborted attempt is retried the same way, from scratch.
/// </summary>
internal sealed class SynchronousRounds(IRoundHost host, TimeProvider time, Action awaitApprovals)
{
    private const int MaxRoundAttempts = 3;
    public static readonly TimeSpan UnreachablePatience = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private int failedAttempts;
    private DateTimeOffset? failingSince, nextAttempt;

    public async Task RunAsync(JobSpec spec)
    {
        if (nextAttempt is { } at && time.GetUtcNow() < at) return;
        var s = host.State;
        int round = s.RoundsCompleted + 1;
        using var activity = Telemetry.Source.StartActivity("round");
        activity?.SetTag("fedgrains.job", host.JobId);
        activity?.SetTag("fedgrains.round", round);
        var stopwatch = Stopwatch.StartNew();
        var cohort = CohortSampler.Select(spec.ResolveGateways().Select(g => g.Id).ToArray(), spec.CohortSize, spec.Seed, round);
        var task = new RoundTask(round, s.ModelVersion, s.Weights);
        using var roundCancellation = CancellationTokenSource.CreateLinkedTokenSource(host.JobCancellation);
        roundCancellation.CancelAfter(TimeSpan.FromSeconds(spec.RoundTimeoutSeconds));
        int done = 0;
        host.SetProgress(0, cohort.Count);

        IReadOnlyList<ReceivedUpdate> results;
        SecureRound.Outcome? secure = null;
        if (spec.Aggregation.Secure.Enabled)
        {
            secure = await SecureRound.RunAsync(host, spec, cohort, task, WeightBuffer.Decode(s.Weights).Values.Length,
                trained => host.SetProgress(trained, cohort.Count), roundCancellation.Token);
            results = secure.Results;
        }
        else
            results = await Task.WhenAll(cohort.Select(async id =>
            {
                var received = await GatewayCalls.AskAsync(host, id, task, spec.RoundTimeoutSeconds, roundCancellation.Token);
                host.SetProgress(++done, cohort.Count);
                return received;
            }));
        // Cancelled, or the silo is shutting down, while the gateways trained: nothing of this round is recorded. A
        // resumed job repeats the round and the gateways hand back the updates they already released.
        if (host.Stopped) return;
        // A gateway whose site wants to approve the job first (its rule switched on while the job ran, or it joined
        // before the rule existed): the round is not committed without it, so the job waits for the admin as a new
        // one does instead of going on while the other sites spend. Repeated, the round gets the others' updates back
        // (the same request and model version), without their training or spending again.
        if (results.Any(r => GatewaySitePolicy.AwaitsApproval(r.Update?.RefusedReason)))
        {
            awaitApprovals();
            return;
        }

        long bytesDown = (long)task.GlobalWeights.Length * cohort.Count;
        var outcome = secure is { Failure: { } aborted }
            ? new RoundOutcome(null, null, null, aborted)
            : await host.Aggregator.AggregateAsync(host.JobId, spec, s, round, results, bytesDown, stopwatch, secure: secure?.Sum);
        if (host.Stopped) return; // cancelled while aggregating
        if (outcome.Failure is { } why)
        {
            var now = time.GetUtcNow();
            failingSince ??= now;
            failedAttempts++;
            bool unreachable = results.Any(r => r.Update is null && !r.Refused);
            if (unreachable ? now - failingSince >= UnreachablePatience : failedAttempts >= MaxRoundAttempts)
                await host.FailAsync(unreachable ? $"{why} (gateways unreachable for {(now - failingSince.Value).TotalSeconds:F0} s over {failedAttempts} attempts)" : why);
            else if (unreachable)
                nextAttempt = now + TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, failedAttempts - 1)));
            return;
        }
        (failedAttempts, failingSince, nextAttempt) = (0, null, null);
        await host.CommitVersionAsync(spec, outcome, () => { });
    }
}
