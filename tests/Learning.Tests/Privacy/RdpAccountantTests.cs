using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Tests.Privacy;

public sealed class RdpAccountantTests
{
    // Abadi et al. / TF Privacy's MNIST tutorial setting: batch 256 of 60,000, sigma 1.1, 60 epochs, delta 1e-5.
    private const double Q = 256.0 / 60000;
    private const long Steps = 60 * 60000 / 256;

    [Fact]
    public void Published_setting_gives_3_01_with_the_classic_conversion_and_about_2_60_with_the_tighter_one()
    {
        var orders = RdpMath.DefaultOrders;
        var rdp = orders.Select(a => RdpMath.Rdp(Q, 1.1, Steps, a)).ToArray();

        Assert.Equal(3.01, RdpMath.ClassicEpsilonFromRdp(orders, rdp, 1e-5), 2);
        Assert.InRange(RdpAccountant.Epsilon(Q, 1.1, Steps, 1e-5), 2.55, 2.65);
    }

    [Fact]
    public void Without_subsampling_the_rdp_is_the_gaussian_closed_form()
    {
        foreach (var alpha in new[] { 1.5, 2, 7.5, 32 })
            Assert.Equal(alpha / (2 * 1.3 * 1.3) * 10, RdpMath.Rdp(1.0, 1.3, 10, alpha), 12);
    }

    [Theory]
    [InlineData(0.01, 0.8, 2)]
    [InlineData(0.05, 1.1, 5)]
    [InlineData(0.2, 2.0, 12)]
    [InlineData(0.001, 0.6, 40)]
    public void Integer_orders_match_a_naive_sum_of_the_binomial_expansion(double q, double sigma, int alpha)
    {
        // A_alpha = sum_i C(alpha, i) q^i (1-q)^(alpha-i) exp((i^2 - i) / (2 sigma^2)), summed directly in doubles.
        double a = 0;
        for (int i = 0; i <= alpha; i++)
            a += Binomial(alpha, i) * Math.Pow(q, i) * Math.Pow(1 - q, alpha - i) * Math.Exp((i * (double)i - i) / (2 * sigma * sigma));
        double expected = Math.Log(a) / (alpha - 1);

        Assert.Equal(expected, RdpMath.Rdp(q, sigma, 1, alpha), 1e-9 * Math.Max(1, expected));
    }

    [Fact]
    public void Fractional_orders_lie_between_their_integer_neighbours()
    {
        // RDP is non-decreasing in the order, so the fractional series must land between the integer values.
        for (double alpha = 2.1; alpha < 10; alpha += 0.7)
        {
            double below = RdpMath.Rdp(0.02, 1.0, 1, Math.Floor(alpha));
            double above = RdpMath.Rdp(0.02, 1.0, 1, Math.Ceiling(alpha));
            Assert.InRange(RdpMath.Rdp(0.02, 1.0, 1, alpha), below * (1 - 1e-9), above * (1 + 1e-9));
        }
    }

    [Fact]
    public void Epsilon_grows_with_steps_and_sample_rate_and_shrinks_with_noise()
    {
        double baseEps = RdpAccountant.Epsilon(0.01, 1.0, 1000, 1e-5);
        Assert.True(RdpAccountant.Epsilon(0.01, 1.0, 2000, 1e-5) > baseEps);
        Assert.True(RdpAccountant.Epsilon(0.02, 1.0, 1000, 1e-5) > baseEps);
        Assert.True(RdpAccountant.Epsilon(0.01, 1.5, 1000, 1e-5) < baseEps);
    }

    [Fact]
    public void Composition_of_charges_equals_one_charge_with_the_steps_added()
    {
        var accountant = new RdpAccountant();
        for (int round = 0; round < 10; round++) accountant.Record(new PrivacyCharge(0.04, 1.2, 25));

        Assert.Single(accountant.Charges);
        Assert.Equal(RdpAccountant.Epsilon(0.04, 1.2, 250, 1e-5), accountant.Epsilon(1e-5), 12);
        // Mixed mechanisms compose in RDP, which is tighter than adding epsilons.
        accountant.Record(new PrivacyCharge(0.1, 2.0, 40));
        double composed = accountant.Epsilon(1e-5);
        Assert.True(composed < RdpAccountant.Epsilon(0.04, 1.2, 250, 1e-5) + RdpAccountant.Epsilon(0.1, 2.0, 40, 1e-5));
        Assert.True(composed > RdpAccountant.Epsilon(0.04, 1.2, 250, 1e-5));
    }

    [Theory]
    [InlineData("rdp", 3.0, 256.0 / 6000, 470)]
    [InlineData("rdp", 1.0, 0.01, 10000)]
    [InlineData("rdp", 8.0, 0.1, 30)]
    [InlineData("prv", 3.0, 256.0 / 6000, 470)]
    [InlineData("prv", 1.0, 0.01, 2000)]
    public void Noise_for_a_target_is_the_smallest_that_reaches_it(string accountant, double target, double q, long steps)
    {
        double sigma = PrivacyAccountants.Get(accountant).NoiseMultiplierFor(target, q, steps, 1e-5);

        Assert.True(PrivacyAccountants.Get(accountant).Epsilon(q, sigma, steps, 1e-5) <= target);

        Assert.True(PrivacyAccountants.Get(accountant).Epsilon(q, sigma * 0.998, steps, 1e-5) > target);
        if (accountant == "prv") Assert.True(sigma < PrivacyAccountants.Get("rdp").NoiseMultiplierFor(target, q, steps, 1e-5), "the tighter accountant needs less noise");
    }

    [Fact]
    public void Bad_arguments_say_what_is_wrong()
    {
        Assert.Contains("delta", Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.Epsilon(0.1, 1, 10, 0)).Message);
        Assert.Contains("sample rate", Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.Epsilon(1.5, 1, 10, 1e-5)).Message);
        Assert.Contains("target epsilon", Assert.Throws<ArgumentException>(() => PrivacyAccountants.Get("rdp").NoiseMultiplierFor(-1, 0.1, 10, 1e-5)).Message);
    }

    private static double Binomial(int n, int k)
    {
        double c = 1;
        for (int i = 1; i <= k; i++) c = c * (n - k + i) / i;
        return c;
    }
}
