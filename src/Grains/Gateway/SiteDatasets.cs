using FedGrains.Grains.Hosting;
using FedGrains.Grains.Placement;
using FedGrains.Learning.Jobs;
using Microsoft.Extensions.Options;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace FedGrains.Grains.Gateway;

/// <summary>
/// A gateway's view of its site on the silo it runs on: whether this silo may run it at all, and the datasets the
/// site declares (FedGrains:Site:Datasets). A gateway on a site's silo reads only these: a job names one, and its
/// paths never appear in the job, so they never leave the site. A silo that serves any site (no
/// FedGrains:Silo:Site, the embedded default) also reads a path given in the spec.
/// </summary>
public sealed class SiteDatasets(IOptions<SiteOptions> site, IOptions<FedGrainsSiloOptions> silo, IClusterMembershipService membership,
    ISiloMetadataCache metadata)
{
    /// <summary>
    /// The gateway of <paramref name="spec"/> with its source resolved to this silo's files. A <see cref="WrongSiloException"/>
    /// when this silo must not run it; an ArgumentException says what the site offers instead of what was asked.
    /// </summary>
    public GatewaySpec Resolve(JobSpec spec, string gatewayId)
    {
        var gateway = spec.ResolveGateways().FirstOrDefault(g => g.Id == gatewayId)
            ?? throw new ArgumentException($"gateway '{gatewayId}' is not in the job's spec.");
        CheckLocality(gateway.SiteId);
        var offered = site.Value.Datasets;
        string names = offered.Count == 0 ? "none (the site declares datasets in FedGrains:Site:Datasets)" : string.Join(", ", offered.Keys.Order(StringComparer.Ordinal));
        if (silo.Value.Site is { Length: > 0 } own && spec.Dataset.DataDir is not null)
            throw new ArgumentException($"gateway '{gateway.Id}': site '{own}' reads no paths from a job spec (dataset.data_dir); name one of its datasets in gateways[].source.dataset: {names}.");
        switch (gateway.Source)
        {
            case null:
                return gateway;
            case { Dataset: { } name }:
                // The resolved source keeps the dataset's name, so an error in its files names the dataset, not a path.
                return offered.TryGetValue(name, out var files)
                    ? gateway with { Source = files with { Dataset = name } }
                    : throw new ArgumentException($"gateway '{gateway.Id}': site '{gateway.SiteId}' offers no dataset '{name}'; it offers {names}.");
            default:
                if (silo.Value.Site is { Length: > 0 } mine)
                    throw new ArgumentException($"gateway '{gateway.Id}': site '{mine}' reads no paths from a job spec; name one of its datasets in gateways[].source.dataset: {names}.");
                return gateway;
        }
    }

    // Placement puts a gateway where its site is, but the site in the activating call is the caller's word; here the
    // silo checks for itself: its own site, or, on a silo that serves any site, only a site no active silo serves.
    private void CheckLocality(string gatewaySite)
    {
        if (silo.Value.Site is { Length: > 0 } own)
        {
            if (own != gatewaySite) throw new WrongSiloException($"this silo serves site '{own}', not '{gatewaySite}'");
            return;
        }
        var sited = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active)
            .Any(m => metadata.GetSiloMetadata(m.SiloAddress).Metadata.GetValueOrDefault(SiloMetadataKeys.Site) == gatewaySite);
        if (sited) throw new WrongSiloException($"site '{gatewaySite}' has a silo of its own, and this one serves only sites without one");
    }
}

/// <summary>A gateway activation on a silo that must not run it; it deactivates, so the next call places it anew.</summary>
public sealed class WrongSiloException(string reason) : InvalidOperationException($"{SiteCalls.WrongSiloMarker}: {reason}");
