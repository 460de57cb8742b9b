using FedGrains.Learning.Privacy;
using MathNet.Numerics.Distributions;
using MathNet.Numerics;

namespace FedGrains.Learning.Tests.Privacy;

public sealed class PrvAccountantTests
{
    /// <summary>Closed form for mu-GDP (Balle and Wang 2018; Dong, Roth, Su 2019): delta(eps) = Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2).</summary>
    private static double GaussianDelta(double eps, double mu) =>
        Normal.CDF(0, 1, -eps / mu + mu / 2) - Math.Exp(eps) * Normal.CDF(0, 1, -eps / mu - mu / 2);

    private static double GaussianEpsilon(double mu, double delta) =>
        FindRoots.OfFunction(e => GaussianDelta(e, mu) - delta, 0, 100, 1e-12);

    [Theory]
    [InlineData(100.0, 10_000, 1e-5)] // mu = 1
    [InlineData(2.0, 50, 1e-5)]
    [InlineData(0.8, 1, 1e-6)]
    public void Full_batch_steps_match_the_gaussian_closed_form(double sigma, long steps, double delta)
    {
        double exact = GaussianEpsilon(Math.Sqrt(steps) / sigma, delta);
        double prv = PrvAccountant.Epsilon(1.0, sigma, steps, delta);

        Assert.InRange(prv, exact, exact + 2.5 * PrvAccountant.EpsilonError);
    }

    [Fact]
    public void Mixed_charges_compose_like_one_gaussian_of_the_summed_precision()
    {
        double mu = Math.Sqrt(50 / 100.0 + 50 / 25.0); // 50 steps at sigma 10 and 50 at sigma 5
        double exact = GaussianEpsilon(mu, 1e-5);
        double prv = PrvAccountant.Epsilon([new PrivacyCharge(1, 10, 50), new PrivacyCharge(1, 5, 50)], 1e-5);

        Assert.InRange(prv, exact, exact + 2.5 * PrvAccountant.EpsilonError);
    }

    /// <summary>
    /// One subsampled step against a naive reference: the hockey-stick divergence integrated directly over the
    /// mechanism's output (both directions), then solved for epsilon.
    /// </summary>
    [Theory]
    [InlineData(0.1, 1.0)]
    [InlineData(0.01, 0.7)]
    public void One_subsampled_step_matches_direct_integration_of_the_hockey_stick_divergence(double q, double sigma)
    {
        const double delta = 1e-4;
        double P(double x) => (1 - q) * Normal.PDF(0, sigma, x) + q * Normal.PDF(1, sigma, x);
        double Q(double x) => Normal.PDF(0, sigma, x);
        double HockeyStick(double eps) => Math.Max(
            Integrate.OnClosedInterval(x => Math.Max(0, P(x) - Math.Exp(eps) * Q(x)), -12 * sigma, 1 + 12 * sigma, 1e-12),
            Integrate.OnClosedInterval(x => Math.Max(0, Q(x) - Math.Exp(eps) * P(x)), -12 * sigma, 1 + 12 * sigma, 1e-12));
        double exact = FindRoots.OfFunction(e => HockeyStick(e) - delta, 0, 20, 1e-9);

        double prv = PrvAccountant.Epsilon(q, sigma, 1, delta);

        Assert.InRange(prv, exact, exact + 2.5 * PrvAccountant.EpsilonError);
    }

    [Theory]
    [InlineData(256.0 / 60000, 1.1, 14062, 1e-5)] // Abadi et al.'s MNIST setting, 60 epochs
    [InlineData(256.0 / 6000, 1.634, 480, 1e-5)]  // one gateway of the default job
    [InlineData(0.01, 0.8, 2000, 1e-5)]
    [InlineData(0.1, 2.0, 100, 1e-6)]
    [InlineData(1.0, 5.0, 50, 1e-5)]
    public void It_is_never_above_rdp_and_tighter_on_subsampled_runs(double q, double sigma, long steps, double delta)
    {
        double rdp = RdpAccountant.Epsilon(q, sigma, steps, delta);
        double prv = PrvAccountant.Epsilon(q, sigma, steps, delta);

        Assert.True(prv <= rdp, $"prv {prv} > rdp {rdp}");
        if (q < 1) Assert.True(prv < 0.95 * rdp, $"prv {prv} is not clearly tighter than rdp {rdp}");
    }

    [Fact]
    public void No_noise_is_infinite_and_nothing_spent_is_zero()
    {
        Assert.Equal(double.PositiveInfinity, PrvAccountant.Epsilon(0.1, 0, 10, 1e-5));
        Assert.Equal(0, PrvAccountant.Epsilon([], 1e-5));
        Assert.Equal(0, PrvAccountant.Epsilon(0.1, 1, 0, 1e-5));
    }
}
