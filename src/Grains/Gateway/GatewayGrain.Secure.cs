using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Grains.Gateway;

/// <summary>
/// The gateway's side of a secure round (SecAgg+). Its delta, encoded for the sum, and the attempt's participant (its
/// keys and secrets) live in this activation's memory only and never reach a store: a gateway that restarts
/// mid-round drops out of that round, which the protocol tolerates, and cannot train it again without spending twice.
/// </summary>
public sealed partial class GatewayGrain
{
    /// <summary>
    /// The delta of the last secure request, held for its attempts: the request, and the delta encoded with its noise
    /// for that cohort size. Encoded once: every encoding is a new noised release, so an attempt never re-encodes.
    /// </summary>
    private (int Sequence, long ModelVersion, int CohortSize, int Index, uint[] Encoded)? held;

    /// <summary>
    /// The survivors this gateway gave unmask shares for in the held request, if it did. Two sums of the same held
    /// deltas over different survivors would differ by the deltas left out, so every later attempt of that request
    /// may unmask only the very same survivors (the same sum again).
    /// </summary>
    private int[]? unmaskedFor;

    /// <summary>The current attempt of the held request: its context and its participant.</summary>
    private (byte[] Context, SecAggParticipant Participant)? attempt;

    public async Task<Sealed<SecureTrainAnswer>> TrainSecureAsync(RoundTask task, SecureRoundSetup setup, CancellationToken cancellationToken = default)
    {
        var spec = JoinedSpec(task);
        if (!spec.Aggregation.Secure.Enabled)
            throw new InvalidOperationException($"job '{JobId}' does not use aggregation.secure; gateway '{GatewayId}' takes part in no secure round");
        if (setup.Index < 1 || setup.Index > setup.CohortSize || setup.Context is not { Length: > 0 and <= 1024 })
            throw new ArgumentException($"a secure round setup with index {setup.Index} of a cohort of {setup.CohortSize} and a context of {setup.Context?.Length ?? 0} bytes: the index must be in 1..cohort and the context 1-1024 bytes");
        // The cohort size sets the threshold and the noise each gateway adds: it must be the one the spec gives.
        int cohort = spec.CohortCount();
        if (setup.CohortSize != cohort)
            throw new ArgumentException($"a secure round of job '{JobId}' names a cohort of {setup.CohortSize}; its spec gives {cohort}");
        // Planned from this gateway's own spec: the federation chooses only the cohort size and the context.
        var plan = SecureRoundPlan.For(spec.Aggregation.Secure, setup.CohortSize, WeightBuffer.Decode(task.GlobalWeights).Values.Length);
        GatewayUpdate update;
        if (held is { } h && h.Sequence == task.Sequence && h.ModelVersion == task.ModelVersion && State.LastRelease is { } last && last.Round == task.Sequence)
        {
            if (h.CohortSize != setup.CohortSize)
                throw new InvalidOperationException($"gateway '{GatewayId}' encoded its delta of request {task.Sequence} for a cohort of {h.CohortSize}, and this attempt names {setup.CohortSize}; encoding it again would release it twice");
            // Its earlier unmasking named survivors by cohort index: under another index the same set would be another sum.
            if (h.Index != setup.Index)
                throw new InvalidOperationException($"gateway '{GatewayId}' took part in request {task.Sequence} as cohort index {h.Index}, and this attempt names {setup.Index}; the cohort's order does not change between attempts, so it takes no part");
            update = last; // a new attempt of the same round: the held delta, masked afresh below
        }
        else
        {
            var (released, bytes) = await ReleaseAsync(task, cancellationToken, plan.Charge());
            if (released.RefusedReason is not null || bytes is null) return Seal(SecureStage.Train, setup.Challenge, new SecureTrainAnswer(released, null));
            var delta = DeltaCodec.Decode(bytes).Values;
            if (Array.FindIndex(delta, v => !float.IsFinite(v)) is var bad and >= 0)
                throw new InvalidOperationException($"gateway '{GatewayId}': delta value {bad} is not finite; nothing is sent");
            var encoded = plan.Encode(delta, SecureRoundPlan.RotationSeed(JobId, task.Sequence, task.ModelVersion), spec.Privacy.SecureNoise);
            (held, update, unmaskedFor) = ((task.Sequence, task.ModelVersion, setup.CohortSize, setup.Index, encoded), released, null);
        }
        EndAttempt();
        var participant = new SecAggParticipant(setup.Index, plan.Protocol(setup.Context), signing.IdentityFor(GatewayId, spec));
        attempt = (setup.Context, participant);
        return Seal(SecureStage.Train, setup.Challenge, new SecureTrainAnswer(update, participant.AdvertiseKeys(), unmaskedFor));
    }

    public Task<Sealed<IReadOnlyList<EncryptedShare>>> ShareKeysAsync(byte[] context, IReadOnlyList<SecAggKeys> neighbours, string challenge) =>
        Task.FromResult(Seal(SecureStage.Share, challenge, Attempt(context).Participant.ShareKeys(neighbours)));

    public Task<Sealed<byte[]>> MaskInputAsync(byte[] context, IReadOnlyList<EncryptedShare> received, string challenge)
    {
        var participant = Attempt(context).Participant; // an attempt exists only while its request's delta is held
        return Task.FromResult(Seal(SecureStage.Mask, challenge, ModularArithmetic.Pack(participant.MaskInput(held!.Value.Encoded, received), State.Spec!.Aggregation.Secure.Bits)));
    }

    /// <summary>
    /// Answers once; the attempt ends with it (its secrets are dropped), so no second request is ever answered. A
    /// later attempt of the same request is answered only for the same survivors (see <see cref="unmaskedFor"/>).
    /// </summary>
    public Task<Sealed<UnmaskShares>> UnmaskAsync(byte[] context, UnmaskRequest request, string challenge)
    {
        var participant = Attempt(context).Participant;
        try
        {
            var survivors = request.Survivors.Order().ToArray();
            if (unmaskedFor is { } earlier && !earlier.SequenceEqual(survivors))
                throw new InvalidOperationException($"gateway '{GatewayId}' already gave unmask shares for this round's sum of {earlier.Length} gateways; a sum of {survivors.Length} other ones of the same deltas would reveal the difference, so it takes no part");
            var answer = participant.Unmask(request);
            unmaskedFor = survivors;
            return Task.FromResult(Seal(SecureStage.Unmask, challenge, answer));
        }
        finally { EndAttempt(); }
    }

    public Task<Sealed<byte[]>> SignSurvivorsAsync(byte[] context, int[] survivors, string challenge) =>
        Task.FromResult(Seal(SecureStage.Survivors, challenge, Attempt(context).Participant.SignSurvivors(survivors ?? [])));

    private Sealed<T> Seal<T>(string stage, string challenge, T answer) => seals.Seal(SealedPurpose.SecureStage(JobId, GatewayId, stage), challenge, answer);

    private (byte[] Context, SecAggParticipant Participant) Attempt(byte[] context) =>
        attempt is { } a && a.Context.AsSpan().SequenceEqual(context) ? a
            : throw new InvalidOperationException($"gateway '{GatewayId}' has no secure round attempt under this context (it restarted, or the attempt ended or was replaced); the round starts a new attempt");

    /// <summary>An activation that goes away mid-round takes its attempt's secrets with it (zeroed, not left to the GC).</summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        EndAttempt();
        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    private void EndAttempt()
    {
        attempt?.Participant.Dispose();
        attempt = null;
    }
}
