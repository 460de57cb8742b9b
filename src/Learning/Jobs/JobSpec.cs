using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Datasets;
using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;

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

    /// <summary>Training of model version 0 at the federation on the data declared public (dataset.public_examples), before round 1.</summary>
    public PublicPretrainingSpec PublicPretraining { get; init; } = new();

    /// <summary>How each gateway evaluates its personal layers (model.local) on examples it holds out of training.</summary>
    public PersonalizationSpec Personalization { get; init; } = new();

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

    /// <summary>How many gateways each round asks: <see cref="CohortSize"/>, or all of them when it is 0.</summary>
    public int CohortCount() => CohortSize > 0 ? CohortSize : ResolveGateways().Count;

    /// <summary>The gateways of this job: <see cref="Gateways"/>, or <see cref="GatewayCount"/> generated ones.</summary>
    /// <remarks>
    /// Generated ones are made once per spec instance: every gateway of a 1,000-gateway job asks for them in every
    /// round (its cohort size, its site), and making them each time was a million strings a round.
    /// </remarks>
    public IReadOnlyList<GatewaySpec> ResolveGateways() =>
        Gateways is { Count: > 0 }
            ? Gateways
            : Generated.GetValue(this, s => Enumerable.Range(0, s.GatewayCount).Select(i => new GatewaySpec { Id = $"gw-{i:D2}" }).ToArray());

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<JobSpec, GatewaySpec[]> Generated = new();
}

