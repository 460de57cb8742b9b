namespace FedGrains.Learning.Privacy;

/// <summary>The Renyi DP accountant (see <see cref="RdpAccountant"/> for the math), memoised.</summary>
internal sealed class RdpPrivacyAccountant : IPrivacyAccountant
{
    private readonly EpsilonMemo memo = new();

    public string Name => "rdp";

    public double Epsilon(IEnumerable<PrivacyCharge> charges, double delta) =>
        memo.Epsilon(charges, delta, (merged, d) => merged.Any(c => c.Steps > 0 && !c.IsNoised) ? double.PositiveInfinity : RdpAccountant.Epsilon(merged, d));

    public double NoiseMultiplierFor(double targetEpsilon, double sampleRate, long steps, double delta, IReadOnlyList<PrivacyCharge>? alsoSpent = null)
    {
        alsoSpent ??= [];
        NoiseCalibration.Check(this, targetEpsilon, steps, delta, alsoSpent);
        return memo.Calibration(targetEpsilon, sampleRate, steps, delta, alsoSpent, () => NoiseCalibration.Bisect(
            sigma => Epsilon(alsoSpent.Append(new PrivacyCharge(sampleRate, sigma, steps)), delta),
            targetEpsilon, 0, 1, 1e-4, $"sample rate {sampleRate}, {steps} steps and delta {delta}"));
    }
}
