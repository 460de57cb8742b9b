using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.SecureAggregation;
using Orleans.Concurrency;

namespace FedGrains.Grains.Interfaces;

/// <summary>
/// One data site in one job (key: "job-id/gateway-id"). Placed only on silos that host gateways. Trains on its own
/// data with DP-SGD and keeps its own durable privacy ledger.
/// </summary>
[Alias("fedgrains.gateway")]
public interface IGatewayGrain : IGrainWithStringKey
{
    /// <summary>
    /// What this gateway would release over the whole job of <paramref name="spec"/> (for the site's up-front budget
    /// check; noise multiplier 0 when no epsilon is claimed). Loads its data and calibrates its noise; stores nothing.
    /// </summary>
    [Alias("plan"), AlwaysInterleave, ResponseTimeout("00:10:00")]
    Task<IReadOnlyList<PrivacyCharge>> PlanAsync(JobSpec spec);

    /// <summary>
    /// Joins the job once its sites accepted it: stores the job and the plan (its calibrated noise), so rounds carry
    /// only what changes. Joining again with the same spec changes nothing; a different spec is refused once the
    /// gateway has released.
    /// </summary>
    [Alias("join"), ResponseTimeout("00:10:00")]
    Task JoinAsync(JobSpec spec);

    /// <summary>
    /// Trains one round from the given global model and returns the delta. The spend is recorded durably before the
    /// delta is released, so a gateway that trained and then timed out has still spent. A round that would exceed
    /// the gateway's budget is refused (the update says why).
    /// </summary>
    [Alias("train"), ResponseTimeout("02:00:00")]
    Task<GatewayUpdate> TrainAsync(RoundTask task, CancellationToken cancellationToken = default);

    /// <summary>
    /// A secure round (aggregation.secure): trains as <see cref="TrainAsync"/> does, but keeps the delta, encoded for
    /// the sum, at the gateway (in memory only), and answers with its public keys for this attempt. A repeated request
    /// (a new attempt of the same round) trains nothing again: the held delta is masked afresh under the new context.
    /// </summary>
    [Alias("secure-train"), ResponseTimeout("02:00:00")]
    Task<Sealed<SecureTrainAnswer>> TrainSecureAsync(RoundTask task, SecureRoundSetup setup, CancellationToken cancellationToken = default);

    // Every stage's answer is sealed for the federation's challenge (see AnswerSeals): a client that answered a stage
    // call in flight could otherwise put its own keys, shares or masked vector in a gateway's place.

    /// <summary>Secure round, stage 2: shares of this attempt's secrets, encrypted to each neighbour whose keys the federation relays.</summary>
    [Alias("secure-share"), ResponseTimeout("00:02:00")]
    Task<Sealed<IReadOnlyList<EncryptedShare>>> ShareKeysAsync(byte[] context, IReadOnlyList<SecAggKeys> neighbours, string challenge);

    /// <summary>Secure round, stage 3: the held delta, masked with the neighbours whose shares arrived, packed at the round's bits per value.</summary>
    [Alias("secure-mask"), ResponseTimeout("00:02:00")]
    Task<Sealed<byte[]>> MaskInputAsync(byte[] context, IReadOnlyList<EncryptedShare> received, string challenge);

    /// <summary>Secure round, stage 4: the shares the federation needs to unmask the sum (never both kinds for one gateway).</summary>
    [Alias("secure-unmask"), ResponseTimeout("00:02:00")]
    Task<Sealed<UnmaskShares>> UnmaskAsync(byte[] context, UnmaskRequest request, string challenge);

    /// <summary>Signed rounds, before the unmasking: this gateway's signature of the survivor set (Bell et al.'s consistency check), once per attempt.</summary>
    [Alias("secure-survivors"), ResponseTimeout("00:02:00")]
    Task<Sealed<byte[]>> SignSurvivorsAsync(byte[] context, int[] survivors, string challenge);

    /// <summary>
    /// A personalised job's end (model.local): this site's accuracy with its own local layers on the final global
    /// model, on the examples it held out, released once (charged to both ledgers); asked again, the same answer.
    /// </summary>
    [Alias("personal-evaluation"), ResponseTimeout("00:10:00")]
    Task<PersonalEvaluation> EvaluatePersonalAsync(RoundTask final);

    /// <summary>Everything this gateway has spent, from its own ledger.</summary>
    [Alias("privacy"), AlwaysInterleave]
    Task<GatewayPrivacy?> GetPrivacyAsync();

    /// <summary>The silo this gateway is active on (for placement checks and diagnostics).</summary>
    [Alias("silo"), AlwaysInterleave]
    Task<string> GetSiloAsync();

    public static string Key(string jobId, string gatewayId) => $"{jobId}/{gatewayId}";
}
