using FedGrains.Learning.Codecs;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Jobs;
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
    public static (byte[] Delta, double ReleasedLoss) Run(JobSpec spec, string gatewayId, LocalPlan plan, Tensor x, Tensor y, int classes,
        DecodedWeights global, int sequence, INoiseSourceFactory noise, CancellationToken cancellationToken)
    {
        var privacy = spec.Privacy;
        var sampler = new Random(Seeds.Derive32(spec.Seed, $"sampling/{gatewayId}/{sequence}"));
        var gradientNoise = noise.Create(spec.Seed, $"noise/{gatewayId}/{sequence}", privacy.SecureNoise);
        var releaseNoise = noise.Create(spec.Seed, $"release-noise/{gatewayId}/{sequence}", privacy.SecureNoise);
        var (delta, _, releasedLoss) = LocalTraining.Run(spec.Model, x, y, classes, global.Values, plan.Settings, sampler, gradientNoise,
            privacy.TrainMetrics, releaseNoise, cancellationToken);
        if (privacy.LocalUpdateDp is { Enabled: true } updateDp)
            UpdateDp.Privatize(delta, updateDp.ClippingNorm, updateDp.NoiseMultiplier, releaseNoise);
        if (Array.FindIndex(delta, v => !float.IsFinite(v)) >= 0) throw new InvalidOperationException(Diverged(plan.Settings));
        var segments = GlobalModel.Segments(spec.Model, x.shape.Skip(1).Select(d => (int)d).ToArray(), classes);
        var bytes = DeltaCodec.Encode(delta, segments, spec.Aggregation.Compression, global.ModelVersion, global.LayoutHash,
            new Random(Seeds.Derive32(spec.Seed, $"rounding/{gatewayId}/{sequence}")));
        return (bytes, releasedLoss);
    }

    /// <summary>A delta with NaN or infinity is not sent (the federation would refuse it anyway); the message names the settings that cause it.</summary>
    public static string Diverged(TrainerSettings s) =>
        $"local training diverged (the delta is not finite): lower learning_rate ({s.LearningRate}), clipping_norm ({s.ClippingNorm}) or noise_multiplier ({s.NoiseMultiplier:G4}).";

    /// <summary>Why a round of <paramref name="projection"/> is refused by the gateway's own budget, with the numbers.</summary>
    public static string BudgetRefusal(BudgetProjection projection, double delta, int roundsSoFar) =>
        $"budget: this round would bring epsilon to {projection.Projected:F3} > target {projection.Budget} (delta {delta}); spent so far {projection.Spent:F3} over {roundsSoFar} rounds.";
}
