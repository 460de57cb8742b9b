using System.Diagnostics;
using FedGrains.Grains.Gateway;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Jobs;
using Microsoft.Extensions.Logging;

namespace FedGrains.Grains.Federation;

/// <summary>
/// Buffered asynchronous mode (FedBuff): gateways train without waiting for each other; every arrival is validated
/// and buffered, and every K buffered updates make a new model version. A gateway whose update is in the buffer waits
/// for the next version (training again from the same model would spend privacy on near-duplicate information), then
/// is sent the newest model. Each call of <see cref="StepAsync"/> handles one arrival, so queries and cancellation
/// stay responsive.
/// </summary>
internal sealed class BufferedRounds(IRoundHost host, ILogger logger, Action awaitApprovals)
{
    private const int MaxConsecutiveFailures = 3;

    /// <summary>The calls out now, by gateway. Lost with the activation; <see cref="BufferState.InFlight"/> re-sends them.</summary>
    private readonly Dictionary<string, Task<ReceivedUpdate>> calls = [];
    private Stopwatch versionClock = Stopwatch.StartNew();
    private int? parameterCount;

    public async Task StepAsync(JobSpec spec)
    {
        var s = host.State;
        var buffer = s.Buffer;
        var settings = spec.Aggregation.Buffered;
        host.SetProgress(buffer.Updates.Count, settings.BufferSize);

        await DispatchAsync(spec);
        if (calls.Count == 0)
        {
            await host.FailAsync($"buffered mode: no gateway can train any more and the buffer holds {buffer.Updates.Count} of {settings.BufferSize} updates for version {s.ModelVersion + 1}: "
                + string.Join("; ", buffer.Retired.Select(r => $"{r.Key}: {r.Value}")));
            return;
        }

        var arrived = await await Task.WhenAny(calls.Values);
        calls.Remove(arrived.Id);
        if (host.Stopped) return;
        buffer.InFlight.Remove(arrived.Id);
        if (GatewaySitePolicy.AwaitsApproval(arrived.Update?.RefusedReason))
        {
            // Its site wants to approve the job first (a rule switched on while the job ran): not a failure to retire
            // the gateway for; the job waits for the admin, and the gateway is sent the newest model once approved.
            awaitApprovals();
            return;
        }

        // The model's size never changes during a job: decode it once per activation, not on every arrival.
        parameterCount ??= WeightBuffer.Decode(s.Weights).Values.Length;
        var (delta, reason) = host.Aggregator.Check(host.JobId, spec, s, arrived, parameterCount.Value);
        if (delta is not null)
        {
            buffer.Updates.Add(new BufferedUpdate(arrived.Update!, arrived.BaseVersion));
            buffer.Failures.Remove(arrived.Id);
        }
        else Reject(buffer, arrived, reason ?? "unknown");
        host.SetProgress(buffer.Updates.Count, settings.BufferSize);

        if (buffer.Updates.Count < settings.BufferSize)
        {
            await host.WriteAsync(); // the buffered update's privacy is spent: it must survive a crash
            return;
        }

        var received = buffer.Updates.Select(u => new ReceivedUpdate(u.Update.GatewayId, u.Update, null, u.BaseVersion)).ToArray();
        var outcome = await host.Aggregator.AggregateAsync(host.JobId, spec, s, s.RoundsCompleted + 1, received, buffer.BytesDown, versionClock, buffer.Rejected);
        if (host.Stopped) return;
        if (outcome.Failure is { } why)
        {
            await host.FailAsync(why); // every buffered update was valid on arrival, so this is not a transient problem
            return;
        }
        await host.CommitVersionAsync(spec, outcome, () =>
        {
            buffer.Updates.Clear();
            buffer.Rejected.Clear();
            buffer.BytesDown = 0;
        });
        versionClock = Stopwatch.StartNew();
    }

    /// <summary>A budget refusal retires the gateway at once; anything else gets a few more tries first.</summary>
    private void Reject(BufferState buffer, ReceivedUpdate arrived, string reason)
    {
        buffer.Rejected.Add(new RejectedUpdate(arrived.Id, reason));
        Telemetry.UpdatesRejected.Add(1);
        Log.UpdateRejected(logger, host.JobId, host.State.RoundsCompleted + 1, arrived.Id, reason);
        if (arrived.Update is { RefusedReason: { } refused }) buffer.Retired[arrived.Id] = refused;
        else if ((buffer.Failures[arrived.Id] = buffer.Failures.GetValueOrDefault(arrived.Id) + 1) >= MaxConsecutiveFailures)
            buffer.Retired[arrived.Id] = $"{MaxConsecutiveFailures} failed answers in a row, the last: {reason}";
    }

    /// <summary>
    /// Sends the current model to every gateway that is free (not training, not waiting in the buffer, not retired),
    /// up to the concurrency limit. New dispatches are written before they are sent, so a restarted federation
    /// re-sends the same (sequence, version) and the gateway answers with what it already released, without spending
    /// again. Also re-sends the dispatches a previous activation left out.
    /// </summary>
    private async Task DispatchAsync(JobSpec spec)
    {
        var s = host.State;
        var buffer = s.Buffer;
        var settings = spec.Aggregation.Buffered;
        bool changed = false;
        foreach (var (id, dispatch) in buffer.InFlight.Where(d => !calls.ContainsKey(d.Key)).ToArray())
        {
            if (s.ModelVersion - dispatch.BaseVersion <= settings.MaxStaleness) continue;
            buffer.InFlight.Remove(id); // too old to be used; the gateway gets the newest model below
            changed = true;
        }
        int limit = settings.Concurrency > 0 ? settings.Concurrency : int.MaxValue;
        var waiting = buffer.Updates.Select(u => u.Update.GatewayId).ToHashSet();
        foreach (var gateway in spec.ResolveGateways())
        {
            if (buffer.InFlight.Count >= limit) break;
            if (buffer.InFlight.ContainsKey(gateway.Id) || waiting.Contains(gateway.Id) || buffer.Retired.ContainsKey(gateway.Id)) continue;
            buffer.InFlight[gateway.Id] = new Dispatch(++buffer.Dispatches, s.ModelVersion);
            buffer.BytesDown += s.Weights.Length;
            changed = true;
        }
        if (changed) await host.WriteAsync();

        foreach (var (id, dispatch) in buffer.InFlight.Where(d => !calls.ContainsKey(d.Key)).ToArray())
        {
            var weights = (await host.GetModelVersionAsync(dispatch.BaseVersion)).Weights;
            calls[id] = GatewayCalls.AskWithTimeoutAsync(host, id, new RoundTask(dispatch.Sequence, dispatch.BaseVersion, weights), spec.RoundTimeoutSeconds);
        }
    }
}
