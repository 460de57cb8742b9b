using System.Collections.Concurrent;

namespace FedGrains.Learning.Privacy;

/// <summary>
/// The accountants a job or the CLI can name. Both are upper bounds on the true epsilon of the same charges; "prv"
/// (numerical composition) is the tighter and the default, "rdp" (Renyi DP) is kept for comparison and for deltas too
/// small for the PRV grid.
/// </summary>
public static class Accountants
{
    public const string Default = PrvAccountant.Name;
    public const string Rdp = "rdp";

    public static readonly IReadOnlyList<string> Names = [PrvAccountant.Name, Rdp];

    private static readonly ConcurrentDictionary<(string, double, double, long, double, string), Lazy<double>> Calibrations = new();
    private static readonly ConcurrentDictionary<(string, double, string), double> Answers = new();

    public static bool IsKnown(string name) => Names.Contains(name);

    /// <summary>
    /// Epsilon at <paramref name="delta"/> of a composition of charges, by the named accountant. Charges with the same
    /// (sample rate, noise multiplier) are merged first, and answers are memoised: a gateway asks about the same
    /// ledger several times per round, and the PRV accountant takes a fraction of a second per question.
    /// </summary>
    public static double Epsilon(string accountant, IEnumerable<PrivacyCharge> charges, double delta)
    {
        if (!IsKnown(accountant)) throw new ArgumentException($"accountant '{accountant}' is not known; use {string.Join(" or ", Names)}.");
        var merged = new RdpAccountant(charges).Charges.OrderBy(c => c.SampleRate).ThenBy(c => c.NoiseMultiplier).ToArray();
        var key = (accountant, delta, string.Join(";", merged.Select(c => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{c.SampleRate:R},{c.NoiseMultiplier:R},{c.Steps}"))));
        if (Answers.TryGetValue(key, out var known)) return known;
        double epsilon = accountant == Rdp ? RdpAccountant.Epsilon(merged, delta) : PrvAccountant.Epsilon(merged, delta);
        if (Answers.Count > 10_000) Answers.Clear();
        Answers[key] = epsilon;
        return epsilon;
    }

    public static double Epsilon(string accountant, double sampleRate, double noiseMultiplier, long steps, double delta) =>
        Epsilon(accountant, [new PrivacyCharge(sampleRate, noiseMultiplier, steps)], delta);

    /// <summary>
    /// The smallest noise multiplier (to a relative 1e-4, rounded up so the target holds) whose epsilon after
    /// <paramref name="steps"/>, composed with <paramref name="alsoSpent"/> (other releases of the same data, e.g. noised
    /// metrics), is at most <paramref name="targetEpsilon"/>. Memoised: every gateway of a job asks the same question each round.
    /// </summary>
    public static double NoiseMultiplierFor(string accountant, double targetEpsilon, double sampleRate, long steps, double delta,
        IReadOnlyList<PrivacyCharge>? alsoSpent = null)
    {
        alsoSpent ??= [];
        if (!(targetEpsilon > 0) || double.IsInfinity(targetEpsilon))
            throw new ArgumentOutOfRangeException(nameof(targetEpsilon), targetEpsilon, "target epsilon must be a positive finite number, e.g. 3.");
        if (steps <= 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must be > 0.");
        if (!IsKnown(accountant)) throw new ArgumentException($"accountant '{accountant}' is not known; use {string.Join(" or ", Names)}.");
        var others = string.Join(";", alsoSpent.Select(c => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{c.SampleRate:R},{c.NoiseMultiplier:R},{c.Steps}")));
        if (alsoSpent.Count > 0 && Epsilon(accountant, alsoSpent, delta) >= targetEpsilon)
            throw new ArgumentException($"the other releases alone ({others}) already reach epsilon {targetEpsilon}; give them more noise or raise the target.");
        // One computation per question even when every gateway of a job asks at once.
        return Calibrations.GetOrAdd((accountant, targetEpsilon, sampleRate, steps, delta, others), _ => new Lazy<double>(() =>
        {
            // The search runs on the PRV accountant's coarse grid (5x the error, far fewer points; still an upper bound),
            // then a few steps on the grid used for accounting narrow it to 1e-3.
            double Eps(double sigma) => accountant == Rdp
                ? Epsilon(accountant, alsoSpent.Append(new PrivacyCharge(sampleRate, sigma, steps)), delta)
                : PrvAccountant.Epsilon(alsoSpent.Append(new PrivacyCharge(sampleRate, sigma, steps)), delta, 5 * PrvAccountant.EpsilonError);
            double lo = 0, hi = 1;
            if (accountant != Rdp)
            {
                // RDP is never tighter, so its answer is enough noise; search below it.
                hi = NoiseMultiplierFor(Rdp, targetEpsilon, sampleRate, steps, delta, alsoSpent);
                lo = hi * 0.7;
                if (Eps(lo) <= targetEpsilon) lo = 0;
            }
            while (Eps(hi) > targetEpsilon)
            {
                lo = hi;
                hi *= 2;
                if (hi > 1e6) throw new ArgumentException($"no noise multiplier up to 1e6 reaches epsilon {targetEpsilon} with sample rate {sampleRate}, {steps} steps and delta {delta}.");
            }
            while (hi - lo > 1e-4 * hi)
            {
                double mid = (lo + hi) / 2;
                if (Eps(mid) > targetEpsilon) lo = mid; else hi = mid;
            }
            if (accountant == Rdp) return hi;
            double Exact(double sigma) => Epsilon(accountant, alsoSpent.Append(new PrivacyCharge(sampleRate, sigma, steps)), delta);
            while (Exact(hi) > targetEpsilon) hi *= 1.01;
            while (Exact(hi * 0.98) <= targetEpsilon) hi *= 0.98;
            double fineLo = hi * 0.98;
            while (hi - fineLo > 1e-3 * hi)
            {
                double mid = (fineLo + hi) / 2;
                if (Exact(mid) > targetEpsilon) fineLo = mid; else hi = mid;
            }
            return hi;
        })).Value;
    }
}
