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
/// records the spend first), planned into the noise calibration, so the site's epsilon stays within its target.
/// </summary>
public sealed partial class GatewayGrain
{
    public async Task<PersonalEvaluation> EvaluatePersonalAsync(RoundTask final)
    {
        var spec = JoinedSpec(final);
        if (spec.Model.Local is not { Length: > 0 })
            throw new InvalidOperationException($"job '{JobId}' has no model.local layers: gateway '{GatewayId}' has no personal model to evaluate");
        // Once per job: the planned charge covers one release, so any later request (another model version, a
        // retry after a lost reply) gets the first answer back.
        if (State.Personal is { } answered) return answered;
        await Reconciler.EnsureAsync();
        if (Reconciler.Disagreement is { } disagreement) throw new InvalidDataException(disagreement);
        var gateway = Resolve(spec);
        var global = WeightBuffer.Decode(final.GlobalWeights);
        var local = await JoinedPlanAsync(spec, gateway);
        double z = spec.Personalization.AccuracyNoiseMultiplier;
        IReadOnlyList<PrivacyCharge> charges = local.PersonalCharge is { } charge ? [charge] : [];
        // A spend the site recorded and this gateway did not finish (it was cut short) is evaluated again, not charged again.
        int earlier = State.Releases.FindIndex(r => r.Sequence == PersonalEvaluation.Sequence);
        if (charges.Count > 0 && earlier < 0 && await RefusalAsync(spec, gateway, final, local, charges) is { } refusal)
            throw new InvalidOperationException($"gateway '{GatewayId}' may not release its personal accuracy: {refusal}");

        var (x, y) = await Task.Run(() => data.GatewayHeldOut(spec, gateway, device));
        int classes = data.Dataset(spec).Classes;
        var own = State.LocalLayers;
        var accuracyNoise = noise.Create(spec.Seed, $"personal-accuracy/{GatewayId}", spec.Privacy.SecureNoise);
        long correct;
        double? released;
        try
        {
            (correct, released) = await Task.Run(() =>
            {
                var weights = (float[])global.Values.Clone();
                if (own is not null) GatewayRound.Personal(spec, x, classes)!.Apply(weights, own);
                long c = PersonalAccuracy.Correct(spec.Model, weights, x, y, classes);
                return (c, z > 0 ? PersonalAccuracy.Release(c, (int)x.shape[0], z, accuracyNoise) : (double?)null);
            });
        }
        catch when (charges.Count > 0 && earlier < 0)
        {
            // The site recorded this spend: the gateway's ledger counts it too, though nothing is released.
            await Reconciler.AdoptAsync(new GatewayRelease(PersonalEvaluation.Sequence, final.ModelVersion, charges, time.GetUtcNow(), Unreleased: true));
            throw;
        }
        int examples = (int)x.shape[0];
        Log.PersonalEvaluated(logger, JobId, GatewayId, own is not null, final.ModelVersion, (double)correct / examples, examples,
            released is null ? "no (personalization.accuracy_noise_multiplier 0)" : $"{released:P2} (noise {z} examples)");
        var evaluation = new PersonalEvaluation(GatewayId, examples, released, z, final.ModelVersion, own is not null);
        if (charges.Count > 0)
        {
            if (earlier >= 0) State.Releases[earlier] = State.Releases[earlier] with { Unreleased = false };
            else State.Releases.Add(new GatewayRelease(PersonalEvaluation.Sequence, final.ModelVersion, charges, time.GetUtcNow()));
        }
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
