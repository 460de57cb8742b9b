using System.Collections.Concurrent;
using System.Globalization;

namespace FedGrains.Learning.Privacy;

/// <summary>
/// Remembers an accountant's answers. A gateway asks about the same ledger several times per round, every gateway of
/// a job asks the same calibration question, and the PRV accountant takes a fraction of a second per question.
/// </summary>
internal sealed class EpsilonMemo
{
    private readonly ConcurrentDictionary<(double, string), double> answers = new();
    private readonly ConcurrentDictionary<(double, double, long, double, string), Lazy<double>> calibrations = new();

    /// <summary>Charges merged by (sample rate, noise multiplier) in a canonical order, and their text as a key.</summary>
    public static (PrivacyCharge[] Merged, string Key) Canonical(IEnumerable<PrivacyCharge> charges)
    {
        var merged = new RdpAccountant(charges).Charges.OrderBy(c => c.SampleRate).ThenBy(c => c.NoiseMultiplier).ToArray();
        return (merged, Key(merged));
    }

    public static string Key(IEnumerable<PrivacyCharge> charges) =>
        string.Join(";", charges.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.SampleRate:R},{c.NoiseMultiplier:R},{c.Steps}")));

    public double Epsilon(IEnumerable<PrivacyCharge> charges, double delta, Func<IReadOnlyList<PrivacyCharge>, double, double> compute)
    {
        var (merged, key) = Canonical(charges);
        if (answers.TryGetValue((delta, key), out var known)) return known;
        double epsilon = compute(merged, delta);
        if (answers.Count > 10_000) answers.Clear();
        answers[(delta, key)] = epsilon;
        return epsilon;
    }

    /// <summary>One computation per calibration question, even when every gateway of a job asks at once.</summary>
    public double Calibration(double targetEpsilon, double sampleRate, long steps, double delta, IReadOnlyList<PrivacyCharge> alsoSpent, Func<double> compute) =>
        calibrations.GetOrAdd((targetEpsilon, sampleRate, steps, delta, Key(alsoSpent)), _ => new Lazy<double>(compute)).Value;
}
