using FedGrains.Grains.Hosting;
using FedGrains.Learning.Jobs;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Gateway;

/// <summary>
/// The datasets a site's silo declares (FedGrains:Site:Datasets). A gateway on a site's silo reads only these: a job
/// names one, and its paths never appear in the job, so they never leave the site. A silo that serves any site (no
/// FedGrains:Silo:Site, the embedded default) also reads a path given in the spec.
/// </summary>
public sealed class SiteDatasets(IOptions<SiteOptions> site, IOptions<FedGrainsSiloOptions> silo)
{
    /// <summary>The gateway with its source resolved to this silo's files; an ArgumentException says what the site offers instead.</summary>
    public GatewaySpec Resolve(GatewaySpec gateway)
    {
        var offered = site.Value.Datasets;
        string names = offered.Count == 0 ? "none (the site declares datasets in FedGrains:Site:Datasets)" : string.Join(", ", offered.Keys.Order(StringComparer.Ordinal));
        switch (gateway.Source)
        {
            case null:
                return gateway;
            case { Dataset: { } name }:
                return offered.TryGetValue(name, out var files)
                    ? gateway with { Source = files }
                    : throw new ArgumentException($"gateway '{gateway.Id}': site '{gateway.SiteId}' offers no dataset '{name}'; it offers {names}.");
            default:
                if (silo.Value.Site is { Length: > 0 } own)
                    throw new ArgumentException($"gateway '{gateway.Id}': site '{own}' reads no paths from a job spec; name one of its datasets in gateways[].source.dataset: {names}.");
                return gateway;
        }
    }
}
