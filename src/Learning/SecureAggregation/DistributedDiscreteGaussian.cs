using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.SecureAggregation;

/// <summary>
/// Distributed DP under secure aggregation (Kairouz, Liu, Steinke 2021, "The Distributed Discrete Gaussian Mechanism
/// for Federated Learning with Secure Aggregation"): each gateway adds discrete Gaussian noise N_Z(0, sigma^2) to
/// every coordinate of its encoded delta, so the unmasked sum of n of them carries noise close to N_Z(0, n sigma^2),
/// and only the sum is ever seen. Sampled here with Canonne, Kamath, Steinke 2020 ("The Discrete Gaussian for
/// Differential Privacy", Algorithm 3: a discrete Laplace proposal, accepted with probability
/// exp(-(|y| - sigma^2/t)^2 / (2 sigma^2))); the Bernoulli(exp(-x)) draws use doubles, as TFF's sampler does, not the
/// paper's exact rational arithmetic.
/// </summary>
public static class DistributedDiscreteGaussian
{
    /// <summary>Adds N_Z(0, sigma^2) to every value, mod 2^bits.</summary>
    public static void AddNoise(uint[] encoded, double sigma, int bits, Random random)
    {
        if (!(sigma > 0) || double.IsInfinity(sigma)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "the noise's standard deviation must be > 0");
        uint keep = ModularArithmetic.Mask(bits);
        for (int i = 0; i < encoded.Length; i++) encoded[i] = (uint)(encoded[i] + Sample(sigma, random)) & keep;
    }

    /// <summary>One draw of N_Z(0, sigma^2).</summary>
    public static long Sample(double sigma, Random random)
    {
        double variance = sigma * sigma;
        long t = (long)Math.Floor(sigma) + 1;
        while (true)
        {
            long y = DiscreteLaplace(t, random);
            double gap = Math.Abs(y) - variance / t;
            if (random.NextDouble() < Math.Exp(-gap * gap / (2 * variance))) return y;
        }
    }

    /// <summary>P(y) proportional to exp(-|y| / t) (Canonne, Kamath, Steinke 2020, Algorithm 2).</summary>
    private static long DiscreteLaplace(long t, Random random)
    {
        while (true)
        {
            long u = random.NextInt64(t);
            if (random.NextDouble() >= Math.Exp(-(double)u / t)) continue;
            long v = 0;
            while (random.NextDouble() < Math.Exp(-1)) v++;
            long x = u + t * v;
            bool negative = random.Next(2) == 1;
            if (negative && x == 0) continue;
            return negative ? -x : x;
        }
    }

    /// <summary>
    /// The RDP at <paramref name="order"/> of one secure sum of <paramref name="survivors"/> noised deltas
    /// (Proposition 14 of Kairouz et al. 2021): the least of a/2 l2^2 + tau d, a/2 (l2^2 + 2 l1 tau + tau^2 d) and
    /// a/2 (l2 + sqrt(d) tau)^2, with l2 = sensitivity2 / (sqrt(n) sigma), l1 likewise, and
    /// tau = 10 sum_{k=1}^{n-1} exp(-2 pi^2 sigma^2 k / (k + 1)), all in encoded units.
    /// </summary>
    public static double Rdp(double order, double sensitivity2, double sensitivity1, double sigma, int survivors, int dimension)
    {
        var (l2, l1, tau) = Scales(sensitivity2, sensitivity1, sigma, survivors);
        double d = dimension;
        return Math.Min(order / 2 * l2 * l2 + tau * d,
            Math.Min(order / 2 * (l2 * l2 + 2 * l1 * tau + tau * tau * d), order / 2 * Math.Pow(l2 + Math.Sqrt(d) * tau, 2)));
    }

    /// <summary>
    /// The charge of one secure sum, as a Gaussian mechanism without sampling whose RDP curve bounds it: the third
    /// term of <see cref="Rdp"/> is exactly a Gaussian's, with noise multiplier 1 / (l2 + sqrt(d) tau). Accounted in
    /// RDP only (<see cref="Mechanism.SecureSum"/>): an RDP bound says nothing of the exact privacy curve a PRV
    /// accountant would compose.
    /// </summary>
    /// <param name="maxSurvivors">The most noises the sum can hold: tau grows with n while l2 shrinks, so the charge
    /// takes the worst n in [survivors, maxSurvivors].</param>
    public static PrivacyCharge Charge(double sensitivity2, double sigma, int survivors, int dimension, int? maxSurvivors = null)
    {
        double worst = Enumerable.Range(survivors, Math.Max(1, (maxSurvivors ?? survivors) - survivors + 1)).Max(n =>
        {
            var (l2, _, tau) = Scales(sensitivity2, 0, sigma, n);
            return l2 + Math.Sqrt(dimension) * tau;
        });
        return new PrivacyCharge(1.0, 1 / worst, 1, Mechanism.SecureSum);
    }

    private static (double L2, double L1, double Tau) Scales(double sensitivity2, double sensitivity1, double sigma, int survivors)
    {
        double tau = 0;
        for (int k = 1; k < survivors; k++) tau += Math.Exp(-2 * Math.PI * Math.PI * sigma * sigma * k / (k + 1));
        double central = Math.Sqrt(survivors) * sigma;
        return (sensitivity2 / central, sensitivity1 / central, 10 * tau);
    }
}
