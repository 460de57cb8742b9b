using FedGrains.Learning.Privacy;

namespace FedGrains.Grains.Hosting;

/// <summary>
/// Lifetime privacy budgets of the data sites (configuration section "FedGrains:Privacy"). The data owner sets these,
/// not the job submitter: a job cannot raise them. Without a budget a site's spend is still recorded and reported.
/// </summary>
public sealed class SitePrivacyOptions
{
    public const string Section = "FedGrains:Privacy";

    /// <summary>The lifetime epsilon of every site without its own entry in <see cref="Sites"/>; null = not enforced.</summary>
    public double? LifetimeEpsilon { get; set; }

    /// <summary>Site id -> its lifetime epsilon.</summary>
    public Dictionary<string, double> Sites { get; set; } = [];

    /// <summary>The delta at which lifetime epsilons are computed.</summary>
    public double LifetimeDelta { get; set; } = 1e-5;

    /// <summary>"prv" (default) or "rdp".</summary>
    public string Accountant { get; set; } = PrivacyAccountants.Default;

    public double? BudgetOf(string site) => Sites.TryGetValue(site, out var epsilon) ? epsilon : LifetimeEpsilon;

    public IEnumerable<string> Problems()
    {
        if (LifetimeEpsilon is { } e && !(e > 0)) yield return $"{Section}:LifetimeEpsilon={e} must be > 0 (or left out for no lifetime limit).";
        foreach (var (site, epsilon) in Sites)
            if (!(epsilon > 0)) yield return $"{Section}:Sites:{site}={epsilon} must be > 0.";
        if (LifetimeDelta is <= 0 or >= 1) yield return $"{Section}:LifetimeDelta={LifetimeDelta} must be in (0, 1).";
        if (!PrivacyAccountants.IsKnown(Accountant)) yield return $"{Section}:Accountant='{Accountant}' must be prv or rdp.";
    }
}
