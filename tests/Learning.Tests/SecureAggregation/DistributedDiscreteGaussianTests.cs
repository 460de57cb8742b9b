using FedGrains.Learning.Privacy;
using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Learning.Tests.SecureAggregation;

public sealed class DistributedDiscreteGaussianTests
{
    /// <summary>The discrete Gaussian's pmf, normalised over a wide window (naive, for reference).</summary>
    private static Dictionary<long, double> Pmf(double sigma)
    {
        long width = (long)Math.Ceiling(12 * sigma) + 5;
        var weights = Enumerable.Range((int)-width, (int)(2 * width + 1)).ToDictionary(y => (long)y, y => Math.Exp(-(double)y * y / (2 * sigma * sigma)));
        double total = weights.Values.Sum();
        return weights.ToDictionary(p => p.Key, p => p.Value / total);
    }

    [Theory]
    [InlineData(0.6)]
    [InlineData(3.0)]
    [InlineData(25.0)]
    public void Samples_follow_the_discrete_gaussian(double sigma)
    {
        var random = new Random(11);
        const int n = 200_000;
        var counts = new Dictionary<long, int>();
        for (int i = 0; i < n; i++)
        {
            long y = DistributedDiscreteGaussian.Sample(sigma, random);
            counts[y] = counts.GetValueOrDefault(y) + 1;
        }
        // Chi-square over the bins with expected count >= 20, the tails pooled.
        var pmf = Pmf(sigma);
        var bins = pmf.Where(p => p.Value * n >= 20).Select(p => p.Key).ToHashSet();
        double chi = bins.Sum(y => Math.Pow(counts.GetValueOrDefault(y) - n * pmf[y], 2) / (n * pmf[y]));
        double tailExpected = n * pmf.Where(p => !bins.Contains(p.Key)).Sum(p => p.Value);
        double tailSeen = counts.Where(c => !bins.Contains(c.Key)).Sum(c => c.Value);
        if (tailExpected > 5) chi += Math.Pow(tailSeen - tailExpected, 2) / tailExpected;
        int freedom = bins.Count + (tailExpected > 5 ? 1 : 0) - 1;
        // The 99.9% quantile of chi-square is below freedom + 4.5 sqrt(2 freedom) + 10 for these sizes.
        Assert.True(chi < freedom + 4.5 * Math.Sqrt(2 * freedom) + 10, $"chi-square {chi:F1} over {freedom} degrees of freedom");
        double variance = counts.Sum(c => c.Value * (double)c.Key * c.Key) / n;
        Assert.Equal(pmf.Sum(p => p.Value * p.Key * p.Key), variance, 0.03 * sigma * sigma + 0.01);
    }

    [Fact]
    public void Noise_is_added_mod_2_to_the_bits()
    {
        var encoded = new uint[] { 0, 1, (1u << 16) - 1 };
        var before = encoded.ToArray();
        DistributedDiscreteGaussian.AddNoise(encoded, 50, 16, new Random(2));
        Assert.All(encoded, v => Assert.True(v < 1u << 16));
        Assert.NotEqual(before, encoded);
        Assert.Throws<ArgumentOutOfRangeException>(() => DistributedDiscreteGaussian.AddNoise(encoded, 0, 16, new Random(2)));
    }

    [Theory]
    [InlineData(1000.0, 50.0, 2, 1024)]
    [InlineData(1e5, 2e4, 10, 262_144)]
    [InlineData(10.0, 0.4, 5, 64)]   // small noise: tau is not negligible
    public void The_rdp_is_the_least_of_the_three_bounds_and_the_charge_bounds_it(double sensitivity, double sigma, int n, int d)
    {
        double l1 = sensitivity * Math.Min(Math.Sqrt(d), sensitivity);
        double tau = 10 * Enumerable.Range(1, n - 1).Sum(k => Math.Exp(-2 * Math.PI * Math.PI * sigma * sigma * k / (k + 1.0)));
        double l2s = sensitivity / (Math.Sqrt(n) * sigma), l1s = l1 / (Math.Sqrt(n) * sigma);
        var charge = DistributedDiscreteGaussian.Charge(sensitivity, sigma, n, d);
        Assert.Equal((1.0, 1L, Mechanism.SecureSum), (charge.SampleRate, charge.Steps, charge.Mechanism));
        foreach (double a in new[] { 1.5, 2, 8, 32 })
        {
            double naive = new[] { a / 2 * l2s * l2s + tau * d, a / 2 * (l2s * l2s + 2 * l1s * tau + tau * tau * d), a / 2 * Math.Pow(l2s + Math.Sqrt(d) * tau, 2) }.Min();
            double rdp = DistributedDiscreteGaussian.Rdp(a, sensitivity, l1, sigma, n, d);
            Assert.Equal(naive, rdp, naive * 1e-12);
            // The charge's Gaussian RDP is the third bound: never below the mechanism's.
            Assert.True(RdpMath.Rdp(1, charge.NoiseMultiplier, 1, a) >= rdp * (1 - 1e-12));
        }
        // With ample noise the mechanism is the Gaussian of multiplier sqrt(n) sigma / sensitivity.
        if (tau * d < 1e-12) Assert.Equal(Math.Sqrt(n) * sigma / sensitivity, charge.NoiseMultiplier, 1e-9);
    }

    [Fact]
    public void With_little_noise_the_charge_takes_the_worst_number_of_survivors()
    {
        // sigma 0.3: tau grows with n faster than l2 shrinks, so more survivors would be worse than the fewest.
        var worst = DistributedDiscreteGaussian.Charge(10, 0.3, 2, 4096, maxSurvivors: 40);
        Assert.True(DistributedDiscreteGaussian.Charge(10, 0.3, 40, 4096).NoiseMultiplier < DistributedDiscreteGaussian.Charge(10, 0.3, 2, 4096).NoiseMultiplier);
        foreach (int n in new[] { 2, 10, 40 })
            Assert.True(worst.NoiseMultiplier <= DistributedDiscreteGaussian.Charge(10, 0.3, n, 4096).NoiseMultiplier * (1 + 1e-12));
    }

    [Fact]
    public void Secure_sum_charges_are_site_level_and_stay_out_of_the_example_level_epsilon()
    {
        var dpSgd = new PrivacyCharge(0.01, 1.1, 1000);
        var sum = DistributedDiscreteGaussian.Charge(1000, 800, 5, 1024);
        var ledger = new PrivacyLedger(PrivacyAccountants.Get("prv"), 1e-5, 3.0, [dpSgd, sum, sum]);

        Assert.Equal(new PrivacyLedger(PrivacyAccountants.Get("prv"), 1e-5, 3.0, [dpSgd]).Epsilon(), ledger.Epsilon());
        Assert.Equal(RdpAccountant.Epsilon([sum with { Steps = 2 }], 1e-5), ledger.SecureSumEpsilon()!.Value, 9);
        Assert.Null(new PrivacyLedger(PrivacyAccountants.Get("prv"), 1e-5, 3.0, [dpSgd]).SecureSumEpsilon());
        Assert.True(ledger.Project([sum]).Fits); // the example-level budget is not spent by site-level sums
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_plan_with_distributed_noise_charges_the_fewest_survivors_and_keeps_the_wrap_target(bool secureNoise)
    {
        var spec = new SecureAggregationSpec { Enabled = true, NoiseMultiplier = 1.0, ClippingNorm = 2 };
        var plan = SecureRoundPlan.For(spec, 10, 5000);
        Assert.InRange(plan.WrapProbability, 1e-10, 1e-9);
        Assert.Equal(plan.Encoding.Scale * 1.0 * 2 / Math.Sqrt(10), plan.LocalNoise, 1e-9);
        var charge = plan.Charge()!;
        // n_min = max(2, t) noises of sigma: z_eff = sqrt(n_min) sigma / (2 x rounded norm bound).
        double expected = Math.Sqrt(plan.MinSurvivors) * plan.LocalNoise / (2 * SecureEncoding.RoundedNormBound(plan.Encoding, plan.Length));
        Assert.Equal(expected, charge.NoiseMultiplier, 1e-6);
        Assert.Null(SecureRoundPlan.For(spec with { NoiseMultiplier = 0 }, 10, 5000).Charge());
        // Ten zero deltas: the decoded mean is noise alone, of std z C / n per coordinate (the rotation is orthogonal).
        var seed = SecureRoundPlan.RotationSeed("job", 1, 0);
        var sum = new uint[plan.Length];
        var zero = new float[5000];
        for (int g = 0; g < 10; g++) ModularArithmetic.AddInPlace(sum, plan.Encode(zero, seed, secureNoise), plan.Encoding.Bits);
        var mean = plan.DecodeMean(sum, 10, seed);
        double std = Math.Sqrt(mean.Sum(v => (double)v * v) / mean.Length);
        Assert.InRange(std, 0.95 * 1.0 * 2 / 10, 1.05 * 1.0 * 2 / 10);
    }

    [Fact]
    public void Secure_noise_draws_from_the_os_generator_and_its_draws_are_uniform_and_in_range()
    {
        Assert.IsType<SecureRandom>(SecureRoundPlan.Generator(secureNoise: true));
        Assert.IsNotType<SecureRandom>(SecureRoundPlan.Generator(secureNoise: false));
        using var random = new SecureRandom();
        var doubles = Enumerable.Range(0, 200_000).Select(_ => random.NextDouble()).ToArray();
        Assert.All(doubles, d => Assert.InRange(d, 0.0, Math.BitDecrement(1.0)));
        Assert.InRange(doubles.Average(), 0.4985, 0.5015); // std of the mean 0.00065
        var counts = new int[7];
        for (int i = 0; i < 70_000; i++) counts[random.NextInt64(7)]++;
        double chiSquare = counts.Sum(c => Math.Pow(c - 10_000, 2) / 10_000);
        Assert.True(chiSquare < 22.5, $"chi-square {chiSquare:F1} over 6 degrees of freedom (p = 0.001 at 22.5)");
        // The discrete Gaussian from it has the asked variance.
        var draws = Enumerable.Range(0, 50_000).Select(_ => (double)DistributedDiscreteGaussian.Sample(4.0, random)).ToArray();
        Assert.InRange(draws.Select(v => v * v).Average(), 16 * 0.97, 16 * 1.03);
    }
}
