namespace FedGrains.Learning.Privacy;

/// <summary>
/// A gateway's training loss released with DP: per-example losses are clipped to [0, B], and the sum (in units of B)
/// and the count each get N(0, z^2). Adding or removing one example moves (sum / B, count) by at most (1, 1), an L2
/// sensitivity of sqrt 2, so one release is a Gaussian mechanism with noise multiplier z / sqrt 2 on the example-level
/// ledger, composed with the DP-SGD steps like any other charge.
/// </summary>
public static class PrivateLoss
{
    /// <summary>The noised mean of <paramref name="count"/> losses whose sum, each already clipped to [0, bound], is <paramref name="clippedSum"/>.</summary>
    public static double Release(double clippedSum, long count, double bound, double noiseMultiplier, INoiseSource noise)
    {
        double sum = clippedSum / bound + noiseMultiplier * noise.Next();
        double noisedCount = count + noiseMultiplier * noise.Next();
        return noisedCount > 0 ? Math.Max(0, sum * bound / noisedCount) : double.NaN;
    }

    public static PrivacyCharge Charge(double noiseMultiplier, long releases) => new(1.0, noiseMultiplier / Math.Sqrt(2), releases, Mechanism.NoisedMetric);
}
