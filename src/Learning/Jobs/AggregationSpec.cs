namespace FedGrains.Learning.Jobs;

/// <summary>
/// The federation's aggregation pipeline, in the order TFF composes aggregators: zeroing -> clipping -> rule ->
/// server optimizer.
/// </summary>
public sealed record AggregationSpec
{
    /// <summary>"mean" (FedAvg, weighted by examples), "median", "trimmed_mean", "krum" or "multi_krum".</summary>
    public string Rule { get; init; } = "mean";

    /// <summary>Fraction trimmed at each end per coordinate by trimmed_mean.</summary>
    public double TrimBeta { get; init; } = 0.1;

    /// <summary>f, the number of Byzantine gateways Krum tolerates (needs more than 2f + 2 updates per round).</summary>
    public int Byzantine { get; init; } = 1;

    /// <summary>m, updates averaged by multi_krum; 0 means n - f.</summary>
    public int MultiKrumSelected { get; init; }

    public NormStageSpec Zeroing { get; init; } = new() { Mode = "off", Bound = 10, TargetQuantile = 0.98, LearningRate = Math.Log(10), Multiplier = 2, Increment = 1 };

    public NormStageSpec Clipping { get; init; } = new() { Mode = "off", Bound = 1.0, TargetQuantile = 0.8, LearningRate = 0.2, Multiplier = 1, Increment = 0 };

    public ServerOptimizerSpec ServerOptimizer { get; init; } = new();

    /// <summary>How gateways compress their deltas for the upload.</summary>
    public CompressionSpec Compression { get; init; } = new();
}

/// <summary>A zeroing or clipping stage: off, a fixed bound, or adaptive (geometric quantile matching, Andrew et al. 2019).</summary>
public sealed record NormStageSpec
{
    /// <summary>"off", "fixed" or "adaptive".</summary>
    public string Mode { get; init; } = "off";

    /// <summary>The fixed bound, or the initial estimate when adaptive.</summary>
    public double Bound { get; init; }

    public double TargetQuantile { get; init; }
    public double LearningRate { get; init; }
    public double Multiplier { get; init; } = 1;
    public double Increment { get; init; }
}

/// <summary>The server optimizer (Reddi et al. 2021): "fedavg", "fedavgm", "fedadagrad", "fedadam" or "fedyogi".</summary>
public sealed record ServerOptimizerSpec
{
    public string Kind { get; init; } = "fedavg";
    public double LearningRate { get; init; } = 1.0;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.99;
    public double Tau { get; init; } = 1e-3;
}
