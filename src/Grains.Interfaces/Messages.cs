using System.Text.Json.Serialization;

namespace FedGrains.Grains.Interfaces;

/// <summary>Lifecycle of a federation job.</summary>
public enum JobState
{
    NotStarted,
    Running,
    Completed,
    Cancelled,
    Failed,
}

/// <summary>What the federation asks a joined gateway to do: train once from a model version. Only what changes per request.</summary>
/// <param name="Sequence">The round in synchronous mode, the dispatch number in buffered mode; with the model version it identifies the request, so a repeated one gets the update already released.</param>
/// <param name="GlobalWeights">The global model as a <c>WeightBuffer</c> (bytes, not float[]: 40x faster on the wire).</param>
[GenerateSerializer, Immutable, Alias("fedgrains.round-task.v2")]
public sealed record RoundTask(
    [property: Id(0)] int Sequence,
    [property: Id(1)] long ModelVersion,
    [property: Id(2)] byte[] GlobalWeights);

/// <summary>A gateway's answer: its delta (or why it did not train) and what it spent.</summary>
[GenerateSerializer, Immutable, Alias("fedgrains.gateway-update")]
public sealed record GatewayUpdate(
    [property: Id(0)] string GatewayId,
    [property: Id(1)] int Round,
    [property: Id(2)] byte[]? Delta,
    [property: Id(3)] int Examples,
    [property: Id(4)] double TrainLoss,
    [property: Id(5)] GatewayPrivacy Privacy,
    [property: Id(6)] double TrainSeconds,
    [property: Id(7)] string? RefusedReason,
    [property: Id(8)] string? Signature = null);

/// <summary>A gateway's privacy spend so far and what produced it, enough to recompute epsilon with `fedgrains privacy epsilon`.</summary>
/// <param name="Epsilon">Example-level epsilon at <paramref name="Delta"/> of all releases so far (DP-SGD steps and noised metrics); null when no epsilon is claimed (noise level batch/none).</param>
/// <param name="UpdateEpsilon">Site-level epsilon of the locally privatised updates (local update DP), null when that is off.</param>
/// <param name="MetricNoiseMultiplier">Effective noise multiplier of each noised training-loss release (0: no metric released).</param>
/// <param name="SecureSumEpsilon">Site-level epsilon of the secure sums this gateway's deltas were in (distributed DP, RDP), null when there are none.</param>
/// <param name="Releases">Requests charged on the gateway's ledger, each recorded by its site's ledger under the same key (a site report's releases for this gateway and job).</param>
[GenerateSerializer, Immutable, Alias("fedgrains.gateway-privacy")]
public sealed record GatewayPrivacy(
    [property: Id(0)] string GatewayId,
    [property: Id(1)] double? Epsilon,
    [property: Id(2)] double Delta,
    [property: Id(3)] double SampleRate,
    [property: Id(4)] double NoiseMultiplier,
    [property: Id(5)] long Steps,
    [property: Id(6)] string NoiseLevel,
    [property: Id(7)] string Accountant,
    [property: Id(8)] double TargetEpsilon,
    [property: Id(9)] double? UpdateEpsilon = null,
    [property: Id(10)] double MetricNoiseMultiplier = 0,
    [property: Id(11)] long MetricReleases = 0,
    [property: Id(12)] int Releases = 0,
    [property: Id(13)] double? SecureSumEpsilon = null);

/// <summary>A gateway that was asked but contributed nothing to a round, and why.</summary>
[GenerateSerializer, Immutable, Alias("fedgrains.rejected-update")]
public sealed record RejectedUpdate([property: Id(0)] string GatewayId, [property: Id(1)] string Reason);

/// <summary>One completed round (in buffered mode: one model version), as persisted in the federation's history.</summary>
/// <param name="Staleness">Per participant, how many versions old the model it trained from was (always 0 in synchronous rounds).</param>
/// <param name="SecureSigned">Under aggregation.secure: whether the round's keys and survivor set were signed with the
/// site certificates (so a federation that lies could not have unmasked one delta); null without secure aggregation.</param>
[GenerateSerializer, Immutable, Alias("fedgrains.round-record")]
public sealed record RoundRecord(
    [property: Id(0)] int Round,
    [property: Id(1)] IReadOnlyList<string> Participants,
    [property: Id(2)] IReadOnlyList<RejectedUpdate> Rejected,
    [property: Id(3)] long Examples,
    [property: Id(4)] double TrainLoss,
    [property: Id(5)] double TestAccuracy,
    [property: Id(6)] double TestLoss,
    [property: Id(7)] IReadOnlyList<GatewayPrivacy> Privacy,
    [property: Id(8)] long BytesDown,
    [property: Id(9)] long BytesUp,
    [property: Id(10)] double Seconds,
    [property: Id(11)] double AggregationSeconds,
    [property: Id(12)] DateTimeOffset CompletedAt,
    [property: Id(13)] long BytesUpDense = 0,
    [property: Id(14)] double? CentralEpsilon = null,
    [property: Id(15)] IReadOnlyList<long>? Staleness = null,
    [property: Id(16)] bool? SecureSigned = null,
    [property: Id(17), JsonIgnore] IReadOnlyList<long>? Confusion = null)
{
    /// <summary>The largest epsilon a participant claimed after this round, or null when none claims one.</summary>
    public double? MaxEpsilon() => Privacy.Select(p => p.Epsilon).Where(e => e is not null).Max();
}

/// <summary>A snapshot of a job for status queries and progress displays.</summary>
/// <param name="Waiting">What a running job waits for before its next round (a site's approval), or null.</param>
[GenerateSerializer, Immutable, Alias("fedgrains.job-status")]
public sealed record JobStatus(
    [property: Id(0)] string JobId,
    [property: Id(1)] JobState State,
    [property: Id(2)] int RoundsCompleted,
    [property: Id(3)] int TotalRounds,
    [property: Id(4)] long ModelVersion,
    [property: Id(5)] double? TestAccuracy,
    [property: Id(6)] double? MaxEpsilon,
    [property: Id(7)] int GatewaysDone,
    [property: Id(8)] int CohortSize,
    [property: Id(9)] string? Error,
    [property: Id(10)] DateTimeOffset? StartedAt = null,
    [property: Id(11)] DateTimeOffset? FinishedAt = null,
    [property: Id(12)] string? Silo = null,
    [property: Id(13)] string? Waiting = null);

/// <summary>The global model at a version, as a <c>WeightBuffer</c>.</summary>
[GenerateSerializer, Immutable, Alias("fedgrains.model-snapshot")]
public sealed record ModelSnapshot([property: Id(0)] long Version, [property: Id(1)] byte[] Weights);

/// <summary>
/// What the federation tells a gateway of a secure round: its 1-based index in the cohort, the cohort's size (with
/// the spec, both sides derive the same <c>SecureRoundPlan</c>) and the attempt's context (fresh for every attempt).
/// </summary>
[GenerateSerializer, Immutable, Alias("fedgrains.secure-round-setup")]
public sealed record SecureRoundSetup(
    [property: Id(0)] int Index,
    [property: Id(1)] int CohortSize,
    [property: Id(2)] byte[] Context,
    [property: Id(3)] string Challenge);

/// <summary>
/// A gateway's answer to a secure round's training: its update without the delta (kept at the gateway), its keys for
/// this attempt, and, when an earlier attempt of the same request got its unmask shares, the survivors (cohort
/// indices) of that sum: the only sum of these deltas it will help unmask.
/// </summary>
[GenerateSerializer, Immutable, Alias("fedgrains.secure-train-answer")]
public sealed record SecureTrainAnswer(
    [property: Id(0)] GatewayUpdate Update,
    [property: Id(1)] FedGrains.Learning.SecureAggregation.SecAggKeys? Keys,
    [property: Id(2)] int[]? UnmaskedFor = null);

/// <summary>
/// A personalised job's site accuracy (model.local): the final global model with the gateway's own local layers, on
/// the examples it held out of training, released once per job as a noised count.
/// </summary>
/// <param name="Accuracy">Noised (Gaussian, <paramref name="NoiseMultiplier"/> examples); null when not released.</param>
/// <param name="OwnLocalLayers">False when the gateway never trained, so it was measured with the initial local layers.</param>
/// <param name="Error">Why the federation has no evaluation of this gateway (set by the federation; the rest is then empty).</param>
[GenerateSerializer, Immutable, Alias("fedgrains.personal-evaluation")]
public sealed record PersonalEvaluation(
    [property: Id(0)] string GatewayId,
    [property: Id(1)] int HeldOutExamples,
    [property: Id(2)] double? Accuracy,
    [property: Id(3)] double NoiseMultiplier,
    [property: Id(4)] long ModelVersion,
    [property: Id(5)] bool OwnLocalLayers,
    [property: Id(6)] string? Error = null)
{
    /// <summary>The request number of the release in both ledgers (rounds and dispatches count from 1).</summary>
    public const int Sequence = 0;
}
