using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace FedGrains.Grains.Placement;

/// <summary>
/// Places a job's federation (its state, every gateway's noised delta, the global model) only on a silo that serves
/// no site (no <c>fedgrains.site</c>): the federation operator's, never a data site's silo, which may not see other
/// sites' deltas and holds only its own gateway keys. With no such silo up the job cannot run, and the call says
/// what to start.
/// </summary>
public sealed class FederationPlacementFilterStrategy() : PlacementFilterStrategy(order: 0);

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class FederationPlacementFilterAttribute() : PlacementFilterAttribute(new FederationPlacementFilterStrategy());

public sealed class FederationPlacementFilterDirector(ISiloMetadataCache metadata) : IPlacementFilterDirector
{
    public IEnumerable<SiloAddress> Filter(PlacementFilterStrategy filterStrategy, PlacementTarget target, IEnumerable<SiloAddress> silos)
    {
        var unsited = silos.Where(s => !metadata.GetSiloMetadata(s).Metadata.ContainsKey(SiloMetadataKeys.Site)).ToList();
        if (unsited.Count > 0) return unsited;
        throw new OrleansException(
            "no silo may host the federation: every active silo serves a data site (FedGrains:Silo:Site, or a site certificate). " +
            "Start a federation silo: one without a site (with TLS, a silo certificate from `fedgrains provision --silo NAME`), e.g. FedGrains:Silo:Role=federation.");
    }
}
