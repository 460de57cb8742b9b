using FedGrains.Learning.Gateways;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;

namespace FedGrains.Learning.Tests.Gateways;

public sealed class LocalPlanTests
{
    private static readonly HyperParameters Defaults = new() { BatchSize = 256, LocalEpochs = 1 };

    [Fact]
    public void A_plan_charges_its_steps_per_round_and_its_noised_metric_once_per_round()
    {
        var privacy = new PrivacySpec { TrainMetrics = new TrainMetricsSpec { Mode = "noised", NoiseMultiplier = 50 } };
        var plan = LocalPlan.For(Defaults, privacy, 6000, rounds: 20);

        var charges = plan.Charges(20);

        Assert.Equal(24, plan.StepsPerRound);
        Assert.Equal(new PrivacyCharge(256.0 / 6000, plan.Settings.NoiseMultiplier, 24 * 20), charges[0]);
        Assert.Equal(PrivateLoss.Charge(50, 20), charges[1]);
        Assert.Equal(Mechanism.NoisedMetric, charges[1].Mechanism);
        // The calibration covered both: all 20 rounds together end at the target.
        Assert.InRange(PrivacyAccountants.Prv.Epsilon(charges, privacy.Delta), 2.95, 3.0);
    }

    [Fact]
    public void A_run_that_claims_no_epsilon_is_charged_without_noise()
    {
        var plan = LocalPlan.For(Defaults with { NoiseMultiplier = 1.0 }, new PrivacySpec { NoiseLevel = "batch" }, 6000, rounds: 5);

        Assert.False(plan.EpsilonClaimed);
        Assert.Equal(0, Assert.Single(plan.Charges(1)).NoiseMultiplier);
    }

    [Fact]
    public void A_restored_plan_is_the_plan_that_joined_without_calibrating_again()
    {
        var privacy = new PrivacySpec { TargetEpsilon = 2 };
        var joined = LocalPlan.For(Defaults, privacy, 5000, rounds: 10);

        var restored = LocalPlan.Restore(Defaults, privacy, 5000, 10, joined.Settings.NoiseMultiplier);

        Assert.Equal(joined, restored);
    }

    [Fact]
    public void A_batch_larger_than_the_gateways_examples_or_a_delta_not_below_one_over_them_is_refused()
    {
        var batch = Assert.Throws<ArgumentException>(() => LocalPlan.For(Defaults, new PrivacySpec(), examples: 100, rounds: 5));
        Assert.Contains("batch_size 256 is larger than the gateway's 100 examples", batch.Message);
        var delta = Assert.Throws<ArgumentException>(() => LocalPlan.For(Defaults, new PrivacySpec { Delta = 1e-3 }, examples: 2000, rounds: 5));
        Assert.Contains("privacy.delta 0.001 is not below 1/2000", delta.Message);
    }
}
