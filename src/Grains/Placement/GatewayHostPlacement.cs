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

    /// <summary>Optional data-locality tag naming the site whose data this silo holds.</summary>
    public const string Site = "fedgrains.site";
}

/// <summary>
/// Places a grain only on silos whose metadata says <c>fedgrains.gateway-host=true</c>. Orleans' built-in metadata
/// filters compare with the calling silo's value (co-location); this one checks a fixed key=value, which is what
/// "gateways run only where an accelerator is" needs.
/// </summary>
public sealed class GatewayHostPlacementFilterStrategy() : PlacementFilterStrategy(order: 0);

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class GatewayHostPlacementFilterAttribute() : PlacementFilterAttribute(new GatewayHostPlacementFilterStrategy());

public sealed class GatewayHostPlacementFilterDirector(ISiloMetadataCache metadata) : IPlacementFilterDirector
{
    public IEnumerable<SiloAddress> Filter(PlacementFilterStrategy filterStrategy, PlacementTarget target, IEnumerable<SiloAddress> silos)
    {
        var hosts = silos.Where(s => metadata.GetSiloMetadata(s).Metadata.TryGetValue(SiloMetadataKeys.GatewayHost, out var v)
                                     && string.Equals(v, "true", StringComparison.OrdinalIgnoreCase)).ToList();
        if (hosts.Count == 0)
            throw new OrleansException(
                $"no silo hosts gateways: start a silo with metadata {SiloMetadataKeys.GatewayHost}=true (FedGrains:Silo:HostsGateways=true, or a GPU silo).");
        return hosts;
    }
}
