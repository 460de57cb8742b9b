using FedGrains.Learning.Codecs;
using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Aggregation;

/// <summary>One gateway's validated update entering the pipeline.</summary>
public sealed record GatewayDelta(string GatewayId, float[] Delta, double Examples);

/// <summary>The outcome of a round's aggregation.</summary>
public sealed record AggregationResult(float[] Weights, AggregationCheckpoint Checkpoint, IReadOnlyList<(string GatewayId, string Reason)> Dropped, int Used);

/// <summary>
/// Zeroing -> clipping -> aggregation rule -> server optimizer, built from a job's <see cref="AggregationSpec"/>.
/// Each stage is a small type with one job; the pipeline only composes them.
/// </summary>
public static class AggregationPipeline
{
    /// <param name="expectedUpdates">The cohort size: central DP's fixed denominator unless the spec names one.</param>
    /// <param name="noise">Central DP's noise source (OS-entropy seeded outside tests); unused without central DP.</param>
    /// <param name="validationLoss">The server's validation loss of a set of weights, for discarding harmful updates.</param>
    public static AggregationResult Run(AggregationSpec spec, IReadOnlyList<float> weights, IReadOnlyList<GatewayDelta> updates,
        AggregationCheckpoint? checkpoint, int expectedUpdates = 0, INoiseSource? noise = null, Func<float[], double>? validationLoss = null)
    {
        var dropped = new List<(string, string)>();
        if (spec.DiscardHarmful.Enabled)
            updates = HarmfulUpdateFilter.Apply(weights, updates, spec.DiscardHarmful.Tolerance,
                validationLoss ?? throw new ArgumentException("discarding harmful updates needs a validation loss."), dropped);
        var current = updates.Select(u => (u.GatewayId, new WeightedDelta(u.Delta, u.Examples))).ToList();
        var dp = spec.CentralDp;
        int expected = dp.ExpectedUpdates > 0 ? dp.ExpectedUpdates : Math.Max(1, expectedUpdates);
        if (dp.Enabled && noise is null) throw new ArgumentException("central DP needs a noise source.");
        double? countNoise = dp.Enabled && spec.Clipping.Mode == "adaptive" ? (dp.CountNoise > 0 ? dp.CountNoise : expected / 20.0) : null;
        NormStage? zeroing = Stage(spec.Zeroing, zeroing: true, checkpoint?.ZeroingEstimate, null);
        NormStage? clipping = Stage(spec.Clipping, zeroing: false, checkpoint?.ClippingEstimate,
            countNoise is { } sb ? (sb, expected, noise!) : null);
        double clippingBound = clipping?.Bound ?? double.PositiveInfinity; // this round's bound, before adaptation
        IReadOnlyList<(string Id, WeightedDelta Update)> kept = current;
        if (zeroing is not null) kept = zeroing.Apply(kept, dropped);
        if (clipping is not null) kept = clipping.Apply(kept, dropped);

        var optimizer = new ServerOptimizer(OptimizerSettings(spec.ServerOptimizer), checkpoint?.FirstMoment, checkpoint?.SecondMoment);
        var clipped = kept.Select(k => k.Update).ToArray();
        float[] next = dp.Enabled
            ? optimizer.Step(weights, CentralDp.NoisedMean(clipped, weights.Count, clippingBound,
                CentralDp.SumNoiseMultiplier(dp.NoiseMultiplier, countNoise), expected, noise!))
            : kept.Count == 0
                ? weights.ToArray()
                : optimizer.Step(weights, Rule(spec, kept.Count).Aggregate(clipped));
        var nextCheckpoint = new AggregationCheckpoint(zeroing?.Estimate, clipping?.Estimate, optimizer.FirstMoment, optimizer.SecondMoment);
        return new AggregationResult(next, nextCheckpoint, dropped, kept.Count);
    }

    public static IAggregationRule Rule(AggregationSpec spec, int updates) => spec.Rule switch
    {
        "mean" => new WeightedMeanRule(),
        "median" => new CoordinateMedianRule(),
        "trimmed_mean" => new TrimmedMeanRule(spec.TrimBeta),
        "krum" => new KrumRule(spec.Byzantine),
        "multi_krum" => new KrumRule(spec.Byzantine, spec.MultiKrumSelected > 0 ? spec.MultiKrumSelected : Math.Max(1, updates - spec.Byzantine)),
        _ => throw new ArgumentException($"aggregation.rule '{spec.Rule}' is not known."),
    };

    public static ServerOptimizerSettings OptimizerSettings(ServerOptimizerSpec s) => new(
        s.Kind switch
        {
            "fedavg" => ServerOptimizerKind.FedAvg,
            "fedavgm" => ServerOptimizerKind.FedAvgM,
            "fedadagrad" => ServerOptimizerKind.FedAdagrad,
            "fedadam" => ServerOptimizerKind.FedAdam,
            "fedyogi" => ServerOptimizerKind.FedYogi,
            _ => throw new ArgumentException($"aggregation.server_optimizer.kind '{s.Kind}' is not known."),
        },
        s.LearningRate, s.Beta1, s.Beta2, s.Tau);

    private static NormStage? Stage(NormStageSpec s, bool zeroing, double? estimate, (double, int, INoiseSource)? privateCount) => s.Mode switch
    {
        "off" => null,
        "fixed" => new NormStage(new NormBound(false, s.Bound, s.TargetQuantile, s.LearningRate, s.Multiplier, s.Increment), zeroing, estimate),
        "adaptive" => new NormStage(new NormBound(true, s.Bound, s.TargetQuantile, s.LearningRate, s.Multiplier, s.Increment), zeroing, estimate, privateCount),
        _ => throw new ArgumentException($"aggregation.{(zeroing ? "zeroing" : "clipping")}.mode '{s.Mode}' is not known."),
    };
}
