using FedGrains.Learning.Codecs;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;
using static TorchSharp.torch;

namespace FedGrains.Learning.Gateways;

/// <summary>
/// One gateway's training for one request: DP-SGD on its examples from the global model, local update-level DP if
/// the job asks for it, the delta encoded for the wire. Every random stream is derived from the job seed and the
/// request (sampling, rounding) or drawn from the injected noise factory (all privacy noise).
/// </summary>
public static class GatewayRound
{
    /// <param name="sequence">The round (synchronous) or dispatch (buffered) number: with the gateway id it names every stream.</param>
    /// <param name="localLayers">The gateway's own local layers (model.local) from its last round, trained from instead
    /// of the global model's; null before its first. The new ones come back as LocalLayers; the delta omits them.</param>
    public static (byte[] Delta, double ReleasedLoss, float[]? LocalLayers) Run(JobSpec spec, string gatewayId, LocalPlan plan, Tensor x, Tensor y, int classes,
        DecodedWeights global, int sequence, INoiseSourceFactory noise, CancellationToken cancellationToken, float[]? localLayers = null)
    {
        var privacy = spec.Privacy;
        var sampler = new Random(Seeds.Derive32(spec.Seed, $"sampling/{gatewayId}/{sequence}"));
        var gradientNoise = noise.Create(spec.Seed, $"noise/{gatewayId}/{sequence}", privacy.SecureNoise);
        var releaseNoise = noise.Create(spec.Seed, $"release-noise/{gatewayId}/{sequence}", privacy.SecureNoise);
        var start = global.Values;
        var local = Personal(spec, x, classes);
        if (local is not null && localLayers is not null)
        {
            start = (float[])start.Clone();
            local.Apply(start, localLayers);
        }
        var (delta, _, releasedLoss) = LocalTraining.Run(spec.Model, x, y, classes, start, plan.Settings, sampler, gradientNoise,
            privacy.TrainMetrics, releaseNoise, cancellationToken);
        // Taken before local update-level DP, which noises what is sent; the local layers are never sent.
        float[]? trainedLocal = null;
        if (local is not null)
        {
            trainedLocal = local.Extract(start);
            var moved = local.Extract(delta);
            for (int i = 0; i < trainedLocal.Length; i++) trainedLocal[i] += moved[i];
            if (Array.FindIndex(trainedLocal, v => !float.IsFinite(v)) >= 0) throw new InvalidOperationException(Diverged(plan.Settings));
            local.Apply(delta, new float[local.Count]); // not sent; zero so update-level DP's clipping measures only what is
        }
        if (privacy.LocalUpdateDp is { Enabled: true } updateDp)
            UpdateDp.Privatize(delta, updateDp.ClippingNorm, updateDp.NoiseMultiplier, releaseNoise);
        if (Array.FindIndex(delta, v => !float.IsFinite(v)) >= 0) throw new InvalidOperationException(Diverged(plan.Settings));
        var segments = GlobalModel.Segments(spec.Model, x.shape.Skip(1).Select(d => (int)d).ToArray(), classes);
        var bytes = DeltaCodec.Encode(delta, segments, spec.Aggregation.Compression, global.ModelVersion, global.LayoutHash,
            new Random(Seeds.Derive32(spec.Seed, $"rounding/{gatewayId}/{sequence}")));
        return (bytes, releasedLoss, trainedLocal);
    }

    /// <summary>The job's local layers in the model for data of <paramref name="x"/>'s shape; null when it has none.</summary>
    public static LocalLayers? Personal(JobSpec spec, Tensor x, int classes)
    {
        if (!spec.Model.Personalized) return null;
        using var model = ModelFactory.Create(spec.Model, [.. x.shape.Skip(1).Select(d => (int)d)], classes, seed: 0);
        return LocalLayers.Of(model, spec.Model);
    }

    /// <summary>A delta with NaN or infinity is not sent (the federation would refuse it anyway); the message names the settings that cause it.</summary>
    public static string Diverged(TrainerSettings s) =>
        $"local training diverged (the delta is not finite): lower learning_rate ({s.LearningRate}), clipping_norm ({s.ClippingNorm}) or noise_multiplier ({s.NoiseMultiplier:G4}).";

    /// <summary>Why a round of <paramref name="projection"/> is refused by the gateway's own budget, with the numbers.</summary>
    public static string BudgetRefusal(BudgetProjection projection, double delta, int roundsSoFar) =>
        $"budget: this round would bring epsilon to {projection.Projected:F3} > target {projection.Budget} (delta {delta}); spent so far {projection.Spent:F3} over {roundsSoFar} rounds.";
}
