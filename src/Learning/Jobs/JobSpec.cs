using FedGrains.Learning.Features;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Models;

namespace FedGrains.Learning.Jobs;

/// <summary>
/// Everything a federation job needs: model, data and how it is split, gateways and their overrides, rounds,
/// server default hyperparameters and privacy settings. Read from JSON with snake_case names (see <see cref="JobSpecJson"/>).
/// </summary>
public sealed record JobSpec
{
    /// <summary>The one seed every other seed (partition, initial model, Poisson sampling) derives from.</summary>
    public long Seed { get; init; } = 42;

    /// <summary>Number of federated rounds.</summary>
    public int Rounds { get; init; } = 20;

    /// <summary>Gateways asked to train per round; 0 means all of them.</summary>
    public int CohortSize { get; init; }

    /// <summary>A round counts only when at least this many gateways returned a valid update (the TF.js server's minUpdatesPerVersion).</summary>
    public int MinUpdatesPerRound { get; init; } = 1;

    /// <summary>How long the federation waits for a round's gateways, in seconds.</summary>
    public double RoundTimeoutSeconds { get; init; } = 600;

    public ModelSpec Model { get; init; } = new();

    public DatasetSpec Dataset { get; init; } = new();

    /// <summary>Number of gateways sharing the dataset's partitions when <see cref="Gateways"/> is not given (ids gw-00, gw-01, ...).</summary>
    public int GatewayCount { get; init; } = 10;

    /// <summary>Explicit gateways: an id, optional hyperparameter overrides, optional site-local data source.</summary>
    public IReadOnlyList<GatewaySpec>? Gateways { get; init; }

    /// <summary>Server defaults every gateway uses unless it overrides them.</summary>
    public HyperParameters Defaults { get; init; } = new();

    public PrivacySpec Privacy { get; init; } = new();

    /// <summary>How the federation combines the round's updates (zeroing, clipping, rule, server optimizer).</summary>
    public AggregationSpec Aggregation { get; init; } = new();

    /// <summary>
    /// How many times each gateway expects to train, the horizon its noise is calibrated for. Synchronous: every round.
    /// Buffered: each version takes K updates from n gateways, so a gateway trains about R K / n times; half again as
    /// many leaves room for faster sites, capped at R because a gateway contributes at most once per version. A
    /// gateway that would pass its budget is refused and sits out, so a miscount costs progress, never privacy.
    /// </summary>
    public int PlannedParticipations()
    {
        var b = Aggregation.Buffered;
        if (!b.Enabled) return Rounds;
        if (b.ParticipationsPerGateway > 0) return b.ParticipationsPerGateway;
        return Math.Clamp((int)Math.Ceiling(1.5 * Rounds * b.BufferSize / ResolveGateways().Count), 1, Rounds);
    }

    /// <summary>The gateways of this job: <see cref="Gateways"/>, or <see cref="GatewayCount"/> generated ones.</summary>
    public IReadOnlyList<GatewaySpec> ResolveGateways() =>
        Gateways is { Count: > 0 }
            ? Gateways
            : Enumerable.Range(0, GatewayCount).Select(i => new GatewaySpec { Id = $"gw-{i:D2}" }).ToArray();
}

/// <summary>The shared dataset and how it is split among gateways that have no site-local source.</summary>
public sealed record DatasetSpec
{
    /// <summary>"fashion-mnist", "synthetic" (Gaussian clusters) or "synthetic-text" (token sequences, for the text model).</summary>
    public string Kind { get; init; } = "fashion-mnist";

    /// <summary>Folder with the Fashion-MNIST idx files; default $FEDGRAINS_DATA, then /usr/share/datasets/fashion-mnist.</summary>
    public string? DataDir { get; init; }

    /// <summary>
    /// What the federation evaluates on: "test" (the dataset's test set), or "validation": a seeded sample of
    /// <see cref="ValidationExamples"/> training examples, held out from every gateway, for choosing hyperparameters
    /// without ever looking at the test set.
    /// </summary>
    public string Evaluation { get; init; } = "test";

    public int ValidationExamples { get; init; } = 6000;

    /// <summary>"iid" or "dirichlet" (label skew).</summary>
    public string Partition { get; init; } = "iid";

    /// <summary>
    /// What the model sees: "pixels" (default), or "scattering": ScatterNet features (J = 2, L = 8: 81 channels at a
    /// quarter of the resolution, normalised per example; Tramer and Boneh 2021). The features are a fixed function of
    /// each image, computed once per silo, and spend no privacy.
    /// </summary>
    public string Features { get; init; } = "pixels";

    /// <summary>Concentration of the Dirichlet label skew; smaller is more skewed.</summary>
    public double DirichletAlpha { get; init; } = 0.5;

    /// <summary>The shape of one example and the number of classes, known from the spec without loading data.</summary>
    public (int[] ExampleShape, int Classes) Geometry() =>
        Kind switch
        {
            "synthetic" => ([SyntheticFeatures], SyntheticClasses),
            "synthetic-text" => ([SyntheticSequenceLength], SyntheticClasses),
            _ => (Features == "scattering" ? ScatterNetFeatures.Shape([1, 28, 28]) : [1, 28, 28], 10),
        };

    public int SyntheticTrainExamples { get; init; } = 4000;
    public int SyntheticTestExamples { get; init; } = 1000;
    public int SyntheticFeatures { get; init; } = 20;
    public int SyntheticClasses { get; init; } = 4;
    public int SyntheticSequenceLength { get; init; } = 16;
    public int SyntheticVocabulary { get; init; } = 200;
}

/// <summary>One gateway (data site).</summary>
public sealed record GatewaySpec
{
    public string Id { get; init; } = "";

    /// <summary>
    /// The data site this gateway trains on, which keeps one privacy ledger across all jobs; default: the gateway id.
    /// Give the same site in every job that uses the same data, even when gateway ids differ.
    /// </summary>
    public string? Site { get; init; }

    public string SiteId => string.IsNullOrWhiteSpace(Site) ? Id : Site;

    /// <summary>Hyperparameters this gateway uses instead of the server defaults.</summary>
    public HyperParameterOverrides? Overrides { get; init; }

    /// <summary>The site's own data, read only by this gateway; without it the gateway gets a partition of the shared dataset.</summary>
    public SiteSource? Source { get; init; }
}

/// <summary>Site-local data: a CSV (features then label) or an idx images/labels pair.</summary>
public sealed record SiteSource
{
    public string? Csv { get; init; }
    public string? Images { get; init; }
    public string? Labels { get; init; }
}

/// <summary>Privacy settings: the per-gateway budget and how noise is applied.</summary>
public sealed record PrivacySpec
{
    /// <summary>Each gateway's (epsilon, delta) budget for the whole job; noise is calibrated to it unless a noise multiplier is given.</summary>
    public double TargetEpsilon { get; init; } = 3;

    public double Delta { get; init; } = 1e-5;

    /// <summary>"sample" (per-example clipping, epsilon claimed), "batch" (whole-batch clipping, no epsilon claimed) or "none".</summary>
    public string NoiseLevel { get; init; } = "sample";

    /// <summary>"prv" (numerical composition, the tighter; default) or "rdp": calibrates the noise and accounts every release.</summary>
    public string Accountant { get; init; } = Accountants.Default;

    /// <summary>Local update-level DP: each gateway clips and noises its whole delta before sending it.</summary>
    public UpdateDpSpec LocalUpdateDp { get; init; } = new();

    /// <summary>Whether gateways release their training loss, and how (it is computed on private data).</summary>
    public TrainMetricsSpec TrainMetrics { get; init; } = new();

    /// <summary>Draw DP-SGD noise from the OS's cryptographically secure generator (slower; see SecureGaussian).</summary>
    public bool SecureNoise { get; init; }
}

/// <summary>Local update-level DP (see <see cref="Privacy.UpdateDp"/>): clip each delta to the bound, add N(0, (z bound)^2).</summary>
public sealed record UpdateDpSpec
{
    public bool Enabled { get; init; }
    public double ClippingBound { get; init; } = 1.0;
    public double NoiseMultiplier { get; init; } = 1.0;
}

/// <summary>
/// "none" (default): gateways release no training metric; "noised": each round a gateway releases its loss with DP
/// (see <see cref="Privacy.PrivateLoss"/>), accounted on its ledger and included when its noise is calibrated.
/// </summary>
public sealed record TrainMetricsSpec
{
    public string Mode { get; init; } = "none";
    public double NoiseMultiplier { get; init; } = 50;

    /// <summary>Per-example losses are clipped to [0, loss_bound] nats.</summary>
    public double LossBound { get; init; } = 5;
}
