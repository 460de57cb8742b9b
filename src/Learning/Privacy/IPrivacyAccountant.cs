namespace FedGrains.Learning.Privacy;

/// <summary>
/// An accounting method: composes charges into an (epsilon, delta) bound and calibrates noise to a target. Every
/// answer is an upper bound on the true epsilon of the charges.
/// </summary>
public interface IPrivacyAccountant
{
    /// <summary>The name a job spec or the CLI uses ("prv", "rdp").</summary>
    string Name { get; }

    /// <summary>Epsilon at <paramref name="delta"/> of the composition of <paramref name="charges"/>; +infinity when one has no noise.</summary>
    double Epsilon(IEnumerable<PrivacyCharge> charges, double delta);

    /// <summary>
    /// The smallest noise multiplier (rounded up, so the target holds) whose epsilon after <paramref name="steps"/>
    /// steps at <paramref name="sampleRate"/>, composed with <paramref name="alsoSpent"/> (other releases of the same
    /// data, e.g. noised metrics), is at most <paramref name="targetEpsilon"/>.
    /// </summary>
    double NoiseMultiplierFor(double targetEpsilon, double sampleRate, long steps, double delta, IReadOnlyList<PrivacyCharge>? alsoSpent = null);

    /// <summary>Epsilon of one DP-SGD setting: <paramref name="steps"/> steps at (sample rate, noise multiplier).</summary>
    double Epsilon(double sampleRate, double noiseMultiplier, long steps, double delta) =>
        Epsilon([new PrivacyCharge(sampleRate, noiseMultiplier, steps)], delta);
}
