using FedGrains.Grains.Hosting;

namespace FedGrains.Grains.Sites;

/// <summary>
/// A site's lifetime epsilon: the stricter of the operator's (FedGrains:Privacy) and the site's own policy
/// (FedGrains:Site:Policy:LifetimeEpsilon on the silo the ledger runs on), and which of the two it is.
/// </summary>
/// <param name="Epsilon">Null when neither sets one (recorded, not enforced).</param>
/// <param name="SecureSumEpsilon">The site's own cap on its secure sums' site-level epsilon over all jobs
/// (FedGrains:Site:Policy:LifetimeSecureSumEpsilon); null when it sets none.</param>
internal sealed record LifetimeBudget(double? Epsilon, string Source, string Remedy, double? SecureSumEpsilon)
{
    public static LifetimeBudget Of(string siteId, SitePrivacyOptions operatorBudgets, SiteOptions site, FedGrainsSiloOptions silo)
    {
        double? operatorEpsilon = operatorBudgets.BudgetOf(siteId);
        // A silo named for a site holds that site's policy; an unnamed one applies its policy to every site it serves.
        var policy = string.IsNullOrWhiteSpace(silo.Site) || silo.Site == siteId ? site.Policy : null;
        var operatorSetting = operatorBudgets.Sites.ContainsKey(siteId) ? $"{SitePrivacyOptions.Section}:Sites:{siteId}" : $"{SitePrivacyOptions.Section}:LifetimeEpsilon";
        if (policy?.LifetimeEpsilon is { } s && !(operatorEpsilon < s))
            return new LifetimeBudget(s, $"set by the site's own {SitePolicyOptions.Section}:LifetimeEpsilon",
                $"Lower the job's target_epsilon, or the site may raise its {SitePolicyOptions.Section}:LifetimeEpsilon.", policy.LifetimeSecureSumEpsilon);
        return new LifetimeBudget(operatorEpsilon, $"set by the operator's {operatorSetting}",
            $"Lower the job's target_epsilon or raise {operatorSetting} if the data owner agrees.", policy?.LifetimeSecureSumEpsilon);
    }
}
