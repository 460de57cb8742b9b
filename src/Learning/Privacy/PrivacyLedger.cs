using System.Globalization;

namespace FedGrains.Learning.Privacy;

/// <summary>What adding charges to a ledger would do: the epsilon after them, what was spent before, and whether that fits the budget.</summary>
public sealed record BudgetProjection(double Projected, double Spent, double? Budget)
{
    /// <summary>True when there is no budget or the projection stays within it (up to rounding).</summary>
    public bool Fits => Budget is not { } budget || Projected <= budget * (1 + 1e-9);
}

/// <summary>
/// A composition of privacy charges on one party's data (a gateway's in one job, or a data site's across jobs),
/// accounted by one accountant at one delta, with an optional budget. Used by the gateway and the site ledger alike:
/// it answers epsilon, projects what more charges would bring and says whether they fit.
/// </summary>
public sealed class PrivacyLedger(IPrivacyAccountant accountant, double delta, double? budget, IEnumerable<PrivacyCharge>? spent = null)
{
    private readonly PrivacyCharge[] charges = [.. spent ?? []];

    public IPrivacyAccountant Accountant => accountant;

    public double Delta => delta;

    /// <summary>The epsilon this ledger may not cross, or null when spending is recorded and not enforced.</summary>
    public double? Budget => budget;

    public IReadOnlyList<PrivacyCharge> Charges => charges;

    /// <summary>Epsilon of everything recorded; 0 for an empty ledger, +infinity once a release without noise is in it.</summary>
    public double Epsilon() => EpsilonOf(charges);

    /// <summary>What recording <paramref name="more"/> would bring the ledger to.</summary>
    public BudgetProjection Project(IEnumerable<PrivacyCharge> more) => new(EpsilonOf(charges.Concat(more)), Epsilon(), budget);

    /// <summary>
    /// The site-level epsilon of the secure sums recorded (distributed DP), composed in RDP whatever the ledger's
    /// accountant (see <see cref="Mechanism.SecureSum"/>); null when there are none.
    /// </summary>
    public double? SecureSumEpsilon()
    {
        var sums = charges.Where(c => !c.IsExampleLevel && c.Steps > 0).ToArray();
        return sums.Length == 0 ? null : RdpAccountant.Epsilon(sums, delta);
    }

    // Example-level: the ledger's budget and epsilon are about one example, which site-level charges do not add to.
    private double EpsilonOf(IEnumerable<PrivacyCharge> all)
    {
        var active = all.Where(c => c.Steps > 0 && c.IsExampleLevel).ToArray();
        return active.Length == 0 ? 0 : accountant.Epsilon(active, delta);
    }

    /// <summary>The charges as a person reads them: "12 steps at q=0.192, sigma=1.378 + ...".</summary>
    public static string Describe(IEnumerable<PrivacyCharge> charges) =>
        string.Join(" + ", charges.Select(c => c.IsNoised
            ? string.Create(CultureInfo.InvariantCulture, $"{c.Steps} steps at q={c.SampleRate:G4}, sigma={c.NoiseMultiplier:G4}")
            : $"{c.Steps} steps without noise (no epsilon claimed)"));
}
