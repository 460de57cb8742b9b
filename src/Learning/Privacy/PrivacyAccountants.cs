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

    private static readonly IReadOnlyDictionary<string, IPrivacyAccountant> ByName =
        new Dictionary<string, IPrivacyAccountant> { [Prv.Name] = Prv, [Rdp.Name] = Rdp };

    public static IReadOnlyList<string> Names { get; } = [Prv.Name, Rdp.Name];

    public static bool IsKnown(string name) => ByName.ContainsKey(name);

    /// <summary>The accountant called <paramref name="name"/>; an unknown name is an ArgumentException listing the known ones.</summary>
    public static IPrivacyAccountant Get(string name) => ByName.TryGetValue(name, out var accountant)
        ? accountant
        : throw new ArgumentException($"accountant '{name}' is not known; use {string.Join(" or ", Names)}.");
}
