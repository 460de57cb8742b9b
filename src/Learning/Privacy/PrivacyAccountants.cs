namespace FedGrains.Learning.Privacy;

/// <summary>
/// The accountants a job or the CLI can name. Both bound the same charges; "prv" (numerical composition) is the
/// tighter and the default, "rdp" (Renyi DP) is kept for comparison and for deltas too small for the PRV grid.
/// </summary>
public static class PrivacyAccountants
{
    public static readonly IPrivacyAccountant Rdp = new RdpPrivacyAccountant();
    public static readonly IPrivacyAccountant Prv = new PrvPrivacyAccountant((RdpPrivacyAccountant)Rdp);

    public const string Default = PrvAccountant.Name;

    /// <summary>
    /// The largest target epsilon noise is calibrated to: e^100 bounds nothing a person would call private, and near
    /// zero noise the search would walk down to subnormal sigmas (1e300 hung the CLI). Train with noise level "none"
    /// for no privacy.
    /// </summary>
    public const double MaxTargetEpsilon = 100;

    /// <summary>
    /// The most DP steps noise is calibrated for: the PRV grid grows with the horizon (measured here: 10^6 steps take
    /// ~50 s to calibrate, 10^8 over 100 s), and 10^6 steps of one gateway is already far beyond any job in the field.
    /// </summary>
    public const long MaxCalibratedSteps = 1_000_000;

    private static readonly IReadOnlyDictionary<string, IPrivacyAccountant> ByName =
        new Dictionary<string, IPrivacyAccountant> { [Prv.Name] = Prv, [Rdp.Name] = Rdp };

    public static IReadOnlyList<string> Names { get; } = [Prv.Name, Rdp.Name];

    public static bool IsKnown(string name) => ByName.ContainsKey(name);

    /// <summary>The accountant called <paramref name="name"/>; an unknown name is an ArgumentException listing the known ones.</summary>
    public static IPrivacyAccountant Get(string name) => ByName.TryGetValue(name, out var accountant)
        ? accountant
        : throw new ArgumentException($"accountant '{name}' is not known; use {string.Join(" or ", Names)}.");
}
