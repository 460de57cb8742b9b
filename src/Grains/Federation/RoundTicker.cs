using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using StackExchange.Redis;

namespace FedGrains.Grains.Federation;

/// <summary>
/// Drives a running job from a keep-alive grain timer, one round (or, buffered, one arrival) per tick, so no request
/// runs for the whole job; a durable reminder re-activates the job after a crash. Decides what a failed tick means.
/// </summary>
internal sealed class RoundTicker(Grain grain, IRoundHost host, FedGrainsSiloOptions options, TimeProvider time, ILogger logger)
{
    private const string ResumeReminder = "fedgrains-resume";
    private static readonly TimeSpan TransientPatience = TimeSpan.FromMinutes(2);
    private IGrainTimer? driver;
    private DateTimeOffset? transientSince;
    private SynchronousRounds? synchronous;
    private BufferedRounds? buffered;
    private bool verified;
    private ApprovalGate? approvals;

    /// <summary>What the job waits for before its next round, or null.</summary>
    public string? Waiting => host.State.SitesApproved ? null : approvals?.Waiting;

    public async Task StartAsync()
    {
        // The timer first: it runs the job; the reminder only wakes it after a crash. A reminder store that fails now
        // (Redis restarting) must not leave a stored, running job without its timer: every tick tries again.
        driver ??= grain.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions
        {
            DueTime = TimeSpan.Zero,
            Period = TimeSpan.FromMilliseconds(options.RoundTickMilliseconds),
            Interleave = false,
            KeepAlive = true,
        });
        await EnsureReminderAsync();
    }

    private bool reminded;

    private async Task EnsureReminderAsync()
    {
        if (!options.UseReminders || reminded) return;
        try
        {
            await grain.RegisterOrUpdateReminder(ResumeReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            reminded = true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.ReminderDeferred(logger, host.JobId, e.Message);
        }
    }

    public void Stop()
    {
        driver?.Dispose();
        driver = null;
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        var s = host.State;
        if (s.State != JobState.Running || s.Spec is null)
        {
            Stop();
            if (options.UseReminders && await grain.GetReminder(ResumeReminder) is { } reminder)
                await grain.UnregisterReminder(reminder);
            return;
        }
        await EnsureReminderAsync();
        try
        {
            // A job stored by the first format sent its spec with every round: its gateways join it now.
            if (!s.GatewaysJoined) s.GatewaysJoined = await JobAdmission.JoinStoredJobAsync(host.GrainFactory, host.JobId, s.Spec, logger);
            if (host.Stopped) return;
            // Resumed: the gateways' ledgers are checked (and reconciled) before anyone trains again.
            if (!verified && s.RoundsCompleted > 0) await host.VerifyGatewaysAsync();
            verified = true;
            if (!await (approvals ??= new ApprovalGate(host, time)).OpenAsync(s.Spec) || host.Stopped)
            {
                transientSince = null; // the cluster answered; a wait of days must not count against the next fault's patience
                return;
            }
            if (s.Spec.Aggregation.Buffered.Enabled) await (buffered ??= new BufferedRounds(host, logger, approvals.Close)).StepAsync(s.Spec);
            else await (synchronous ??= new SynchronousRounds(host, time, approvals.Close)).RunAsync(s.Spec);
        }
        catch (InvalidDataException e)
        {
            // The store lost state the job needs (a gateway's): stop here, write nothing; the restored store resumes it.
            host.Hold(e.Message);
            return;
        }
        catch (InconsistentStateException e)
        {
            // Another activation of this job wrote first (a silo was declared dead while this one still ran). This
            // copy is stale: step aside without touching the job; the live activation carries on from storage.
            Log.StaleActivation(logger, host.JobId, e.Message);
            Stop();
            grain.DeactivateOnIdle();
        }
        catch (Exception e) when (!host.JobCancellation.IsCancellationRequested && e is OrleansException or TimeoutException or RedisException
                                  && (transientSince ??= time.GetUtcNow()) > time.GetUtcNow() - TransientPatience)
        {
            // The cluster is still forming (a restart: grain types not yet known everywhere), a silo just left, or the
            // store (redis) is restarting: what is persisted stays, and the next tick carries on from it (a
            // synchronous round is repeated whole).
            Log.TransientFailure(logger, host.JobId, s.RoundsCompleted + 1, e.Message);
            return;
        }
        catch (Exception e) when (!host.JobCancellation.IsCancellationRequested)
        {
            await host.FailAsync($"round {s.RoundsCompleted + 1}: {e.GetType().Name}: {e.Message}");
            return;
        }
        transientSince = null;
    }
}
