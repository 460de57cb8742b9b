using FedGrains.Learning.Datasets;
using FedGrains.Learning.Training;

namespace FedGrains.Learning.Jobs;

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
