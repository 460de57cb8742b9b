using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Storage;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Gateways;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;

namespace FedGrains.Grains.Gateway;

/// <summary>
/// A personalised job's last word from a site (model.local): how well its own model (the final global weights with
/// its own local layers) does on the examples it held out. One noised release per job, charged like a round (its site
/// records the spend first, under request <see cref="PersonalEvaluation.Sequence"/>), planned into the noise
/// calibration, so the site's epsilon stays within its target.
/// </summary>
public sealed partial class GatewayGrain
{
    public async Task<PersonalEvaluation> EvaluatePersonalAsync(RoundTask final)
    {
        var spec = JoinedSpec(final);
        if (!spec.Model.Personalized)
            throw new InvalidOperationException($"job '{JobId}' has no model.local layers: gateway '{GatewayId}' has no personal model to evaluate");
        // Once per job: the planned charge covers one release, so any later request (another model version, a
        // retry after a lost reply) gets the first answer back.
        if (State.Personal is { } answered) return answered;
        // Only the last version: an earlier one would spend the job's one release on a model that is not the result.
        if (final.ModelVersion < spec.Rounds)
            throw new InvalidOperationException($"gateway '{GatewayId}' releases its personal accuracy once, on the job's last model version ({spec.Rounds}), not on version {final.ModelVersion}");
        double z = spec.Personalization.AccuracyNoiseMultiplier;
        var own = State.LocalLayers;
        // A site that never trained has no layers of its own to measure: nothing is released or spent.
        if (own is null) return await RecordAsync(new PersonalEvaluation(GatewayId, 0, null, z, final.ModelVersion, false));
        await Reconciler.EnsureAsync();
        if (Reconciler.Disagreement is { } disagreement) throw new InvalidDataException(disagreement);
        var gateway = Resolve(spec);
        var local = await JoinedPlanAsync(spec, gateway);
        // Its data first (a site file that fails now fails before anything is spent), then the site's policy as it reads now.
        var (x, y) = await Task.Run(() => data.GatewayHeldOut(spec, gateway, device));
        var task = final with { Sequence = PersonalEvaluation.Sequence };
        IReadOnlyList<PrivacyCharge> charges = local.PersonalCharge is { } charge ? [charge] : [];
        // A spend the site recorded and this gateway did not finish (it was cut short) is evaluated again, not charged again.
        int earlier = State.Releases.FindIndex(r => r.Sequence == PersonalEvaluation.Sequence);
        if (await SitePolicyRefusalAsync(spec, gateway, local, x) is { } policy)
            throw new InvalidOperationException($"gateway '{GatewayId}' may not release its personal accuracy: {policy}");
        if (charges.Count > 0 && earlier < 0 && await RefusalAsync(spec, gateway, task, local, charges) is { } refusal)
            throw new InvalidOperationException($"gateway '{GatewayId}' may not release its personal accuracy: {refusal}");

        var global = WeightBuffer.Decode(final.GlobalWeights);
        int classes = data.Dataset(spec).Classes;
        var accuracyNoise = noise.Create(spec.Seed, $"personal-accuracy/{GatewayId}", spec.Privacy.SecureNoise);
        long correct;
        double? released;
        try
        {
            (correct, released) = await Task.Run(() =>
            {
                var weights = (float[])global.Values.Clone();
                GatewayRound.Personal(spec, x, classes)!.Apply(weights, own);
                long c = PersonalAccuracy.Correct(spec.Model, weights, x, y, classes);
                return (c, z > 0 ? PersonalAccuracy.Release(c, (int)x.shape[0], z, accuracyNoise) : (double?)null);
            });
        }
        catch when (charges.Count > 0 && earlier < 0)
        {
            // The site recorded this spend: the gateway's ledger counts it too, though nothing is released.
            await Reconciler.AdoptAsync(new GatewayRelease(task.Sequence, task.ModelVersion, charges, time.GetUtcNow(), Unreleased: true));
            throw;
        }
        int examples = (int)x.shape[0];
        Log.PersonalEvaluated(logger, JobId, GatewayId, final.ModelVersion, (double)correct / examples, examples,
            released is null ? "no (personalization.accuracy_noise_multiplier 0)" : $"{released:P2} (noise {z} examples)");
        if (charges.Count > 0)
        {
            if (earlier >= 0) State.Releases[earlier] = State.Releases[earlier] with { Unreleased = false };
            else State.Releases.Add(new GatewayRelease(task.Sequence, task.ModelVersion, charges, time.GetUtcNow()));
        }
        return await RecordAsync(new PersonalEvaluation(GatewayId, examples, released, z, final.ModelVersion, true));
    }

    /// <summary>Stores the evaluation (with its release, when there is one) before it leaves this grain.</summary>
    private async Task<PersonalEvaluation> RecordAsync(PersonalEvaluation evaluation)
    {
        State.Personal = evaluation;
        try { await ledger.WriteDurablyAsync(this, time); }
        catch
        {
            Reconciler.Invalidate();
            throw;
        }
        return evaluation;
    }
}
