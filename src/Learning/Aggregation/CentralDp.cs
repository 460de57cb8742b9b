using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Aggregation;

/// <summary>
/// The noised sum of central DP (McMahan et al. 2018): clipped updates summed unweighted, Gaussian noise of standard
/// deviation sigma x C added, divided by a fixed denominator so one gateway's influence is bounded by C / expected.
/// </summary>
/// <remarks>
/// With adaptive clipping the clipped-count query is noised too (Andrew et al. 2019, Sec. 3): for an overall noise
/// multiplier z and count noise sigma_b, the sum gets z_sum = (z^-2 - (2 sigma_b)^-2)^(-1/2), so that the two
/// Gaussian queries together cost what one query with multiplier z costs.
/// </remarks>
public static class CentralDp
{
    /// <summary>The sum's noise multiplier given the overall z and the count noise (in updates); z itself without adaptive clipping.</summary>
    public static double SumNoiseMultiplier(double z, double? countNoise)
    {
        if (countNoise is not { } sb) return z;
        double rest = 1 / (z * z) - 1 / (4 * sb * sb);
        if (rest <= 0)
            throw new ArgumentException($"aggregation.central_dp: count_noise {sb} is too small for noise_multiplier {z} (needs 2 x count_noise > noise_multiplier).");
        return 1 / Math.Sqrt(rest);
    }

    /// <summary>(sum of clipped updates + N(0, (sigma C)^2)) / expected.</summary>
    public static float[] NoisedMean(IReadOnlyList<WeightedDelta> clipped, int length, double clippingNorm, double sumNoiseMultiplier, int expected, INoiseSource noise)
    {
        var mean = new float[length];
        noise.Fill(mean, sumNoiseMultiplier * clippingNorm);
        foreach (var u in clipped)
            for (int i = 0; i < length; i++) mean[i] += u.Delta[i];
        for (int i = 0; i < length; i++) mean[i] /= expected;
        return mean;
    }
}
