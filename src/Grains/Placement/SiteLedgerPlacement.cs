using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace FedGrains.Grains.Placement;

/// <summary>
/// Places a site's ledger (key: site id) on the silo of that site (metadata <c>fedgrains.site</c> = the site id), so
/// the ledger is kept in the site's own store (FedGrains:Site:LedgerPath) under the site's policy; a site without a
/// silo of its own has its ledger on a silo that names no site. Never on another site's silo.
/// </summary>
public sealed class SiteLedgerPlacementFilterStrategy() : PlacementFilterStrategy(order: 0);

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiteLedgerPlacementFilterAttribute() : PlacementFilterAttribute(new SiteLedgerPlacementFilterStrategy());

public sealed class SiteLedgerPlacementFilterDirector(ISiloMetadataCache metadata) : IPlacementFilterDirector
{
    public IEnumerable<SiloAddress> Filter(PlacementFilterStrategy filterStrategy, PlacementTarget target, IEnumerable<SiloAddress> silos)
    {
        var site = target.GrainIdentity.Key.ToString();
        var tagged = silos.Select(s => (Silo: s, Site: metadata.GetSiloMetadata(s).Metadata.GetValueOrDefault(SiloMetadataKeys.Site))).ToList();
        var own = tagged.Where(t => t.Site == site).Select(t => t.Silo).ToList();
        if (own.Count > 0) return own;
        var shared = tagged.Where(t => string.IsNullOrEmpty(t.Site)).Select(t => t.Silo).ToList();
        if (shared.Count > 0) return shared;
        throw new OrleansException(
            $"no silo keeps the ledger of site '{site}': start the site's silo with FedGrains:Silo:Site={site}, or a silo without FedGrains:Silo:Site for sites that have none.");
    }
}
