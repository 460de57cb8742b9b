using FedGrains.Learning.Gateways;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.Statistics;

namespace FedGrains.Learning.Tests.Privacy;

public sealed class UpdateDpAndPrivateLossTests
{
    [Fact]
    public void A_privatised_update_is_clipped_to_the_bound_and_carries_noise_of_z_times_the_bound()
    {
        var rng = new Random(3);
        var big = Enumerable.Range(0, 20_000).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray(); // norm ~ 40
        var noiseOnly = new float[20_000];

        double before = UpdateDp.Privatize(big, bound: 2.0, noiseMultiplier: 0.5, new GaussianNoise(4));
        UpdateDp.Privatize(noiseOnly, bound: 2.0, noiseMultiplier: 0.5, new GaussianNoise(4)); // same noise, zero signal

        Assert.InRange(before, 30, 50);
        var signal = big.Zip(noiseOnly, (a, b) => (double)a - b).ToArray();
        Assert.Equal(2.0, Math.Sqrt(signal.Sum(v => v * v)), 3);
        Assert.Equal(1.0, noiseOnly.Select(v => (double)v).StandardDeviation(), 2); // z C = 0.5 x 2
    }

    [Fact]
    public void Update_level_releases_are_accounted_as_gaussian_mechanisms_with_sensitivity_twice_the_bound()
    {
        // n releases with noise z C and sensitivity 2C are mu-GDP with mu = 2 sqrt(n) / z.
        const double z = 4, delta = 1e-5;
        const int releases = 9;
        double mu = 2 * Math.Sqrt(releases) / z;
        double exact = MathNet.Numerics.FindRoots.OfFunction(
            e => Normal.CDF(0, 1, -e / mu + mu / 2) - Math.Exp(e) * Normal.CDF(0, 1, -e / mu - mu / 2) - delta, 0, 50, 1e-12);

        double epsilon = PrivacyAccountants.Get("prv").Epsilon([UpdateDp.Charge(z, releases)], delta);

        Assert.InRange(epsilon, exact, exact + 2.5 * PrvAccountant.EpsilonError);
    }

    [Fact]
    public void A_released_loss_is_unbiased_with_the_promised_spread()
    {
        var rng = new GaussianNoise(5);
        // 6000 examples with mean clipped loss 0.8: sum = 4800.
        var releases = Enumerable.Range(0, 4000).Select(_ => PrivateLoss.Release(4800, 6000, bound: 5, noiseMultiplier: 50, rng)).ToArray();

        Assert.Equal(0.8, releases.Mean(), 2);
        // sum noise 50 x 5 = 250 and count noise 50 over 6000: about 250 / 6000 = 0.042.
        Assert.InRange(releases.StandardDeviation(), 0.035, 0.05);
        Assert.Equal(50 / Math.Sqrt(2), PrivateLoss.Charge(50, 1).NoiseMultiplier, 12);
    }

    [Fact]
    public void Noised_metrics_are_part_of_the_budget_the_dp_sgd_noise_is_calibrated_to()
    {
        var h = new HyperParameters { BatchSize = 256, LocalEpochs = 1 };
        var plain = new PrivacySpec { TargetEpsilon = 3, Delta = 1e-5 };
        var noised = plain with { TrainMetrics = new TrainMetricsSpec { Mode = "noised", NoiseMultiplier = 50 } };

        var without = LocalPlan.For(h, plain, 6000, 20);
        var with = LocalPlan.For(h, noised, 6000, 20);
        double total = PrivacyAccountants.Get("prv").Epsilon(
            [new PrivacyCharge(with.Settings.SampleRate, with.Settings.NoiseMultiplier, with.PlannedSteps), PrivateLoss.Charge(50, 20)], 1e-5);

        Assert.True(with.Settings.NoiseMultiplier > without.Settings.NoiseMultiplier);
        Assert.InRange(total, 2.99, 3.0);
        var tooNoisy = plain with { TrainMetrics = new TrainMetricsSpec { Mode = "noised", NoiseMultiplier = 0.5 } };
        Assert.Contains("already reach epsilon 3", Assert.Throws<ArgumentException>(() => LocalPlan.For(h, tooNoisy, 6000, 20)).Message);
    }
}
