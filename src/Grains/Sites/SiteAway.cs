using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Placement;
using FedGrains.Grains.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Sites;

/// <summary>
/// Whether a site's grain (its ledger, its approvals) was activated away from the site: on a silo that serves any
/// site while the site's own silo is down. Such an activation would answer from the cluster's store, not the site's
/// (a pending job would look approved by nobody's rule, a ledger would look lost), so it answers nothing: every call
/// is refused with <see cref="SiteOfflineException"/> and the activation moves to the site's silo once that is up.
/// </summary>
internal static class SiteAway
{
    public static async Task<bool> IsAwayAsync(IGrainFactory grains, AnswerSeals seals, string siteId, FedGrainsSiloOptions silo)
    {
        if (silo.Site == siteId) return false;
        var challenge = AnswerSeals.NewChallenge();
        return seals.Open(SealedPurpose.OwnSilo(siteId), challenge, await grains.GetGrain<ISiteDirectoryGrain>(0).HasOwnSiloAsync(siteId, challenge));
    }

    /// <summary>Refuses the call and asks to be placed anew (placement picks the site's silo when it is back).</summary>
    public static SiteOfflineException Refuse(Grain grain, string siteId)
    {
        ((IGrainBase)grain).MigrateOnIdle();
        return new SiteOfflineException(siteId);
    }

    /// <summary>
    /// At the start of a site's silo: records that the site has a silo of its own, so its grains never answer from
    /// another silo while it is down. Retried for a minute while the cluster forms; the silo starts either way.
    /// </summary>
    public static async Task RegisterOwnSiloAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        if (services.GetRequiredService<IOptions<FedGrainsSiloOptions>>().Value.Site is not { Length: > 0 } site) return;
        var directory = services.GetRequiredService<IGrainFactory>().GetGrain<ISiteDirectoryGrain>(0);
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            try
            {
                await directory.RegisterOwnSiloAsync(site);
                return;
            }
            catch (Exception e) when (DateTime.UtcNow < deadline && !cancellationToken.IsCancellationRequested)
            {
                services.GetRequiredService<ILoggerFactory>().CreateLogger("FedGrains.Sites").LogWarning("Site {Site}: registering its own silo failed ({Reason}); retrying", site, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }
}
