using FedGrains.Learning.Codecs;
using FedGrains.Learning.SecureAggregation;
namespace FedGrains.Learning.Aggregation;

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

    /// <summary>Drop an update that makes the server's validation loss worse by more than a tolerance.</summary>
    public HarmfulUpdateSpec DiscardHarmful { get; init; } = new();

    /// <summary>Central (user-level) DP at the federation: Gaussian noise on the sum of clipped updates.</summary>
    public CentralDpSpec CentralDp { get; init; } = new();

    /// <summary>How gateways compress their deltas for the upload.</summary>
    public CompressionSpec Compression { get; init; } = new();

    /// <summary>Asynchronous buffered rounds instead of synchronous ones.</summary>
    public BufferedSpec Buffered { get; init; } = new();

    /// <summary>Secure aggregation: the federation learns only the sum of each round's deltas.</summary>
    public SecureAggregationSpec Secure { get; init; } = new();
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

/// <summary>
/// Central DP (McMahan et al. 2018, DP-FedAvg): each update clipped to the clipping bound C, summed unweighted, plus
/// N(0, (z C)^2), divided by a fixed expected count. Protects every gateway's whole contribution (site-level DP) from
/// anyone holding the model, but the federation is trusted with individual updates.
/// </summary>
public sealed record CentralDpSpec
{
    public bool Enabled { get; init; }

    /// <summary>z, the accounted noise multiplier (with adaptive clipping it covers the noised clipped-count query too).</summary>
    public double NoiseMultiplier { get; init; } = 1.0;

    /// <summary>The fixed denominator; 0 means the cohort size.</summary>
    public int ExpectedUpdates { get; init; }

    /// <summary>Noise on the adaptive-clipping count, in updates; 0 means expected updates / 20 (Andrew et al. 2019).</summary>
    public double CountNoise { get; init; }
}

/// <summary>
/// The federation checks each update on its own validation examples (held out from the test set, so reported test
/// metrics never inform the decision): an update that raises the validation loss by more than the tolerance is dropped.
/// </summary>
public sealed record HarmfulUpdateSpec
{
    public bool Enabled { get; init; }

    /// <summary>Allowed increase of the validation loss (absolute, in nats).</summary>
    public double Tolerance { get; init; } = 0.05;

    /// <summary>Examples taken from the start of the test set for validation; the rest stays the reported test set.</summary>
    public int ValidationExamples { get; init; } = 1000;
}

/// <summary>
/// Asynchronous buffered aggregation (FedBuff, Nguyen et al. 2022; the TF.js server's minUpdatesPerVersion): gateways
/// train without waiting for each other and the federation makes a new model version from every
/// <see cref="BufferSize"/> updates it receives, each weighted down by its staleness.
/// </summary>
public sealed record BufferedSpec
{
    public bool Enabled { get; init; }

    /// <summary>K: updates per model version.</summary>
    public int BufferSize { get; init; } = 3;

    /// <summary>Gateways training at once; 0 means every gateway.</summary>
    public int Concurrency { get; init; }

    /// <summary>a in the weight (1 + staleness)^-a (FedBuff's polynomial weighting uses 0.5); 0 turns weighting off.</summary>
    public double StalenessExponent { get; init; } = 0.5;

    /// <summary>Updates trained from a version more than this many versions old are refused.</summary>
    public int MaxStaleness { get; init; } = 10;

    /// <summary>How many times each gateway expects to train; its noise is calibrated to this. 0 = auto (see <see cref="JobSpec.PlannedParticipations"/>).</summary>
    public int ParticipationsPerGateway { get; init; }

    /// <summary>Model versions kept in storage for fetching and for re-sending to gateways; 0 keeps all.</summary>
    public int KeepVersions { get; init; }
}
