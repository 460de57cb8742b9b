using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using Microsoft.Extensions.Options;
using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace FedGrains.Grains.Placement;

/// <summary>Silo metadata keys FedGrains reads.</summary>
public static class SiloMetadataKeys
{
    /// <summary>"true" on silos that may host gateways (a GPU silo, or a CPU silo configured to train).</summary>
    public const string GatewayHost = "fedgrains.gateway-host";

    /// <summary>"cuda" or "cpu": the device gateways on this silo train on.</summary>
    public const string Accelerator = "fedgrains.accelerator";

    /// <summary>"federation", "gateway" or "mixed".</summary>
    public const string Role = "fedgrains.role";

    /// <summary>The data site this silo serves; absent on a silo that serves any site (the embedded default).</summary>
    public const string Site = "fedgrains.site";
}

/// <summary>
/// Places a site's gateways only where the site is: on a gateway host whose <c>fedgrains.site</c> is that site, else
/// on a gateway host that serves any site; with neither up, the site is offline and the call fails with
/// <see cref="SiteOfflineException"/>. The site comes with the call that activates the gateway (<see cref="SiteCalls"/>),
/// and counts only with the calling silo's proof over the site and the gateway (<see cref="InternalCalls.SiteProof"/>):
/// a client can set any site in its request context, and placement runs before the access filter refuses its call,
/// so without the proof it could choose which site's silo activates another site's gateway. (A site's ledger is placed by its key: <see cref="SiteLedgerPlacementFilterDirector"/>.)
/// Orleans' built-in metadata filters compare with the calling silo's value (co-location); this needs a value per grain.
/// </summary>
public sealed class SitePlacementFilterStrategy() : PlacementFilterStrategy(order: 0);

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SitePlacementFilterAttribute() : PlacementFilterAttribute(new SitePlacementFilterStrategy());

public sealed class SitePlacementFilterDirector(ISiloMetadataCache metadata, IOptions<AuthOptions> auth, TimeProvider time) : IPlacementFilterDirector
{
    public IEnumerable<SiloAddress> Filter(PlacementFilterStrategy filterStrategy, PlacementTarget target, IEnumerable<SiloAddress> silos)
    {
        var key = auth.Value.SigningKey();
        var hosts = silos.Select(s => (Silo: s, Metadata: metadata.GetSiloMetadata(s).Metadata))
            .Where(s => s.Metadata.TryGetValue(SiloMetadataKeys.GatewayHost, out var v) && string.Equals(v, "true", StringComparison.OrdinalIgnoreCase))
            .ToList();
        if (hosts.Count == 0)
            throw new OrleansException(
                $"no silo hosts gateways: start a silo with metadata {SiloMetadataKeys.GatewayHost}=true (FedGrains:Silo:HostsGateways=true, or a GPU silo).");
        var site = target.RequestContextData?.GetValueOrDefault(SiteCalls.RequestContextKey) as string;
        if (site is not null && !InternalCalls.IsValidSite(target.RequestContextData?.GetValueOrDefault(InternalCalls.SiteProofKey) as string,
                key, site, target.GrainIdentity.ToString(), time.GetUtcNow()))
            site = null; // named by a client, not by a silo: placed as a call without a site
        var own = hosts.Where(h => site is not null && h.Metadata.TryGetValue(SiloMetadataKeys.Site, out var s) && s == site).ToList();
        if (own.Count > 0) return own.Select(h => h.Silo);
        var shared = hosts.Where(h => !h.Metadata.ContainsKey(SiloMetadataKeys.Site)).ToList();
        if (shared.Count > 0) return shared.Select(h => h.Silo);
        throw new SiteOfflineException(site);
    }
}

/// <summary>No silo that serves the site is up: its grains cannot run anywhere else.</summary>
[GenerateSerializer, Alias("fedgrains.site-offline")]
public sealed class SiteOfflineException(string? site) : OrleansException(
    site is null ? "no silo serves this grain's site (it was called without one)" : $"site '{site}' is offline: no silo that serves it is up")
{
    [Id(0)] public string? Site { get; } = site;
}

/// <summary>Calls to a site's gateway carry the site, so an activation lands on a silo that serves it.</summary>
public static class SiteCalls
{
    public const string RequestContextKey = "fedgrains.site";

    /// <summary>
    /// Makes <paramref name="call"/> with <paramref name="site"/> in its request context (Orleans captures the context
    /// when the call starts). A gateway that finds itself on a silo that must not run it (activated there by a caller
    /// that named another site) deactivates and refuses; the call is then made once more and placed anew.
    /// </summary>
    public static async Task<T> CallAsync<T>(string site, Func<Task<T>> call)
    {
        RequestContext.Set(RequestContextKey, site);
        for (int attempt = 1; ; attempt++)
        {
            try { return await call(); }
            catch (Exception e) when (e.Message.Contains(WrongSiloMarker, StringComparison.Ordinal) && attempt < WrongSiloAttempts)
            {
                // The refusing activation deactivates when idle; until the caller's directory cache forgets it, a call
                // may still land there (and activate the grain there again), so back off: 0.2, 0.4, ... 3.2 s.
                await Task.Delay(TimeSpan.FromMilliseconds(200 << (attempt - 1)));
            }
        }
    }

    private const int WrongSiloAttempts = 6;

    /// <summary>The start of the message a gateway on the wrong silo refuses with.</summary>
    public const string WrongSiloMarker = "gateway refused to run here";

    public static Task CallAsync(string site, Func<Task> call) => CallAsync(site, async () => { await call(); return true; });

    public static IGatewayGrain Gateway(IGrainFactory grains, string jobId, string gatewayId) =>
        grains.GetGrain<IGatewayGrain>(IGatewayGrain.Key(jobId, gatewayId));
}
