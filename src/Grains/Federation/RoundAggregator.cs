using System.Diagnostics;
using FedGrains.Grains.Gateway;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Training;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;
using FedGrains.Learning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Federation;

/// <summary>What a round's gateways produced, turned into the next model and the round's record (or why it cannot be).</summary>
public sealed record RoundOutcome(RoundRecord? Record, float[]? Weights, AggregationCheckpoint? Checkpoint, string? Failure);

/// <summary>
/// A gateway's answer (or why there is none) and the model version it was asked to train from. <paramref name="Refused"/>:
/// the gateway answered with an error of its own, as opposed to not being reached (a dead silo, a timeout).
/// </summary>
public sealed record ReceivedUpdate(string Id, GatewayUpdate? Update, string? Error, long BaseVersion, bool Refused = false);

/// <summary>
/// The federation's work after the gateways answered: authenticate and validate each update, run the aggregation
/// pipeline, evaluate, and build the round's record. Keeps the FederationGrain to orchestration and persistence.
/// </summary>
public sealed class RoundAggregator(DatasetCache data, UpdateAuthenticator authenticator, IOptions<FedGrainsSiloOptions> options,
    INoiseSourceFactory noise, TimeProvider time, ILogger<RoundAggregator> logger)
{
    private readonly TorchSharp.torch.Device device = TorchRuntime.SelectDevice(options.Value.Device);

    public async Task<RoundOutcome> AggregateAsync(string jobId, JobSpec spec, FederationState state, int round,
        IReadOnlyList<ReceivedUpdate> results, long bytesDown, Stopwatch roundClock, IReadOnlyList<RejectedUpdate>? earlierRejections = null,
        SecureSum? secure = null)
    {
        var clock = Stopwatch.StartNew();
        using var activity = Telemetry.Source.StartActivity("aggregate");
        var current = WeightBuffer.Decode(state.Weights).Values;
        var accepted = new List<(GatewayUpdate Update, float[] Delta, long Staleness)>();
        var rejected = new List<RejectedUpdate>(earlierRejections ?? []);
        void Reject(string id, string reason)
        {
            rejected.Add(new RejectedUpdate(id, reason));
            Telemetry.UpdatesRejected.Add(1);
            Log.UpdateRejected(logger, jobId, round, id, reason);
        }
        foreach (var received in results)
        {
            var (delta, reason) = secure is null ? Check(jobId, spec, state, received, current.Length) : CheckSurvivor(jobId, secure, received);
            if (delta is not null) accepted.Add((received.Update!, delta, state.ModelVersion - received.BaseVersion));
            else Reject(received.Id, reason ?? "unknown");
        }
        // The secure sum holds every survivor's delta: one that is not theirs (unsigned) spoils the whole sum.
        if (secure is not null && accepted.Count != secure.Survivors.Count)
            return new RoundOutcome(null, null, null, $"round {round}: the secure sum includes deltas the federation cannot accept, so none is applied: "
                + string.Join("; ", rejected.Where(r => secure.Survivors.Contains(r.GatewayId)).Select(r => $"{r.GatewayId}: {r.Reason}")));
        if (accepted.Count < spec.MinUpdatesPerRound)
            return new RoundOutcome(null, null, null,
                $"round {round} got {accepted.Count} valid updates, fewer than min_updates_per_round={spec.MinUpdatesPerRound}: "
                + string.Join("; ", rejected.Select(r => $"{r.GatewayId}: {r.Reason}")));

        var checkpoint = CheckpointCodec.Decode(state.AggregationCheckpoint);
        var centralNoise = noise.Create(spec.Seed, $"central-noise/{round}", spec.Privacy.SecureNoise);
        // Off the grain's scheduler: the first call computes the test set's features (ScatterNet: seconds), and the
        // federation must keep answering status and cancel meanwhile.
        var (result, loss, accuracy, metrics) = await Task.Run(() =>
        {
            var test = data.TestData(spec, device);
            var classes = data.Dataset(spec).Classes;
            Func<float[], double>? validationLoss = null;
            if (spec.Aggregation.DiscardHarmful.Enabled)
            {
                var validation = data.ValidationData(spec, device);
                validationLoss = w => GlobalModel.Evaluate(spec.Model, w, validation.X, validation.Y, classes).Loss;
            }
            double exponent = spec.Aggregation.Buffered.StalenessExponent;
            var deltas = secure is not null ? [new GatewayDelta("secure sum", secure.MeanDelta, accepted.Count)]
                : accepted.Select(a => new GatewayDelta(a.Update.GatewayId, a.Delta,
                    a.Update.Examples * Staleness.Weight(a.Staleness, exponent))).ToArray();
            var aggregated = AggregationPipeline.Run(spec.Aggregation, current, deltas, checkpoint,
                results.Count, centralNoise, validationLoss);
            GlobalModel.KeepUnsent(spec.Model, [.. test.X.shape.Skip(1).Select(d => (int)d)], classes, current, aggregated.Weights);
            var (l, acc, m) = GlobalModel.Assess(spec.Model, aggregated.Weights, test.X, test.Y, classes);
            return (aggregated, l, acc, m);
        });
        foreach (var (id, reason) in result.Dropped) Reject(id, reason);
        accepted.RemoveAll(a => result.Dropped.Any(d => d.GatewayId == a.Update.GatewayId));

        long examples = accepted.Sum(a => (long)a.Update.Examples);
        double? centralEpsilon = await AccountantWork.RunAsync(() => CentralDpAccounting.Epsilon(spec, round));
        var record = new RoundRecord(round, accepted.Select(a => a.Update.GatewayId).ToArray(), rejected, examples,
            accepted.Sum(a => a.Update.TrainLoss * a.Update.Examples) / Math.Max(1, examples), accuracy, loss,
            results.Where(r => r.Update is not null).Select(r => r.Update!.Privacy).ToArray(),
            bytesDown, secure?.BytesUp ?? results.Sum(r => (long)(r.Update?.Delta?.Length ?? 0)), roundClock.Elapsed.TotalSeconds, clock.Elapsed.TotalSeconds,
            time.GetUtcNow(),
            BytesUpDense: (long)current.Length * 4 * (secure?.Survivors.Count ?? results.Count(r => r.Update?.Delta is not null)),
            CentralEpsilon: centralEpsilon,
            Staleness: accepted.Select(a => a.Staleness).ToArray(),
            SecureSigned: secure?.Signed,
            Confusion: metrics.Classes <= ClassificationMetrics.MaxKeptClasses ? metrics.Confusion : null);
        activity?.SetTag("fedgrains.test_accuracy", accuracy);
        return new RoundOutcome(record, result.Weights, result.Checkpoint, null);
    }

    /// <summary>A secure round's answer: a survivor's update (signed, its delta in the sum), or why it is not in the sum.</summary>
    private (float[]? Delta, string? Reason) CheckSurvivor(string jobId, SecureSum secure, ReceivedUpdate received)
    {
        if (received.Update is not { } update) return (null, received.Error);
        if (!secure.Survivors.Contains(received.Id)) return (null, update.RefusedReason ?? "not in the secure sum");
        return SecureAnswerRefusal(jobId, received) is { } refused ? (null, refused) : ([], null);
    }

    /// <summary>Why a secure round's training answer cannot be accepted (unsigned, no examples), or null: checked before its delta enters the sum.</summary>
    public string? SecureAnswerRefusal(string jobId, ReceivedUpdate received) =>
        received.Update is not { } update ? received.Error
            : authenticator.Check(update, jobId, received.BaseVersion) ?? (update.Examples > 0 ? null : $"example count {update.Examples} must be > 0");

    /// <summary>
    /// Authenticates and validates one answer against the version it was trained from: the decoded delta, or why it
    /// is refused. In buffered mode an update older than max_staleness versions is refused too.
    /// </summary>
    public (float[]? Delta, string? Reason) Check(string jobId, JobSpec spec, FederationState state, ReceivedUpdate received, int parameterCount)
    {
        if (received.Update is not { } update) return (null, received.Error);
        long staleness = state.ModelVersion - received.BaseVersion;
        int maxStaleness = spec.Aggregation.Buffered.Enabled ? spec.Aggregation.Buffered.MaxStaleness : 0;
        if (staleness > maxStaleness)
            return (null, $"stale: trained from model version {received.BaseVersion}, {staleness} versions behind {state.ModelVersion} (aggregation.buffered.max_staleness={maxStaleness})");
        if (authenticator.Check(update, jobId, received.BaseVersion) is { } refused) return (null, refused);
        return UpdateValidator.Validate(update, received.BaseVersion, state.LayoutHash, parameterCount);
    }

}
