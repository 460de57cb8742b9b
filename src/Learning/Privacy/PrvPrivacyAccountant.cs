namespace FedGrains.Learning.Privacy;

/// <summary>The PRV accountant (see <see cref="PrvAccountant"/> for the math), memoised, calibrating below RDP's answer.</summary>
internal sealed class PrvPrivacyAccountant(RdpPrivacyAccountant rdp) : IPrivacyAccountant
{
    private readonly EpsilonMemo memo = new();

    public string Name => PrvAccountant.Name;

    public double Epsilon(IEnumerable<PrivacyCharge> charges, double delta) =>
        memo.Epsilon(charges, delta, (merged, d) => PrvAccountant.Epsilon(merged, d));

    public double NoiseMultiplierFor(double targetEpsilon, double sampleRate, long steps, double delta, IReadOnlyList<PrivacyCharge>? alsoSpent = null)
    {
        alsoSpent ??= [];
        NoiseCalibration.Check(this, targetEpsilon, steps, delta, alsoSpent);
        return memo.Calibration(targetEpsilon, sampleRate, steps, delta, alsoSpent, () =>
        {
            var setting = $"sample rate {sampleRate}, {steps} steps and delta {delta}";
            IEnumerable<PrivacyCharge> With(double sigma) => alsoSpent.Append(new PrivacyCharge(sampleRate, sigma, steps));
            // The search runs on the PRV accountant's coarse grid (5x the error, far fewer points; still an upper bound),
            // below RDP's answer, which is never tighter and so is enough noise.
            double Coarse(double sigma) => PrvAccountant.Epsilon(With(sigma), delta, 5 * PrvAccountant.EpsilonError);
            double hi = rdp.NoiseMultiplierFor(targetEpsilon, sampleRate, steps, delta, alsoSpent);
            double lo = hi * 0.7;
            if (Coarse(lo) <= targetEpsilon) lo = 0;
            hi = NoiseCalibration.Bisect(Coarse, targetEpsilon, lo, hi, 1e-4, setting);
            // Then a few steps on the grid used for accounting narrow it to 1e-3.
            double Exact(double sigma) => Epsilon(With(sigma), delta);
            while (Exact(hi) > targetEpsilon) hi *= 1.01;
            while (Exact(hi * 0.98) <= targetEpsilon) hi *= 0.98;
            return NoiseCalibration.Bisect(Exact, targetEpsilon, hi * 0.98, hi, 1e-3, setting);
        });
    }
}
