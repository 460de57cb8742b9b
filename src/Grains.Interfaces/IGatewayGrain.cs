using Orleans.Concurrency;

namespace FedGrains.Grains.Interfaces;

/// <summary>
/// One data site in one job (key: "job-id/gateway-id"). Placed only on silos that host gateways. Trains on its own
/// data with DP-SGD and keeps its own durable privacy ledger.
/// </summary>
[Alias("fedgrains.gateway")]
public interface IGatewayGrain : IGrainWithStringKey
{
    /// <summary>
    /// Trains one round from the given global model and returns the delta. The spend is recorded durably before the
    /// delta is released, so a gateway that trained and then timed out has still spent. A round that would exceed
    /// the gateway's budget is refused (the update says why).
    /// </summary>
    [Alias("train"), ResponseTimeout("02:00:00")]
    Task<GatewayUpdate> TrainAsync(RoundTask task, CancellationToken cancellationToken = default);

    /// <summary>What this gateway would release over the whole job (for the site's up-front budget check); sigma 0 when no epsilon is claimed.</summary>
    [Alias("plan"), AlwaysInterleave, ResponseTimeout("00:10:00")]
    Task<IReadOnlyList<SiteCharge>> PlanAsync(FedGrains.Learning.Jobs.JobSpec spec);

    /// <summary>Everything this gateway has spent, from its own ledger.</summary>
    [Alias("privacy"), AlwaysInterleave]
    Task<GatewayPrivacy?> GetPrivacyAsync();

    /// <summary>The silo this gateway is active on (for placement checks and diagnostics).</summary>
    [Alias("silo"), AlwaysInterleave]
    Task<string> GetSiloAsync();

    public static string Key(string jobId, string gatewayId) => $"{jobId}/{gatewayId}";
}
