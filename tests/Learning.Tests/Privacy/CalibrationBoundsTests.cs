using System.Diagnostics;
using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Tests.Privacy;

/// <summary>Extreme but well-formed calibration questions answer fast or are refused, never hang.</summary>
public sealed class CalibrationBoundsTests
{
    [Theory]
    [InlineData("prv")]
    [InlineData("rdp")]
    public void The_largest_target_is_answered_fast_and_met(string name)
    {
        var accountant = PrivacyAccountants.Get(name);
        var clock = Stopwatch.StartNew();
        double sigma = accountant.NoiseMultiplierFor(PrivacyAccountants.MaxTargetEpsilon, 1e-4, 1, 1e-5);

        Assert.True(accountant.Epsilon(1e-4, sigma, 1, 1e-5) <= PrivacyAccountants.MaxTargetEpsilon);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [Theory]
    [InlineData(1e300)]
    [InlineData(100.5)]
    [InlineData(double.PositiveInfinity)]
    public void A_target_above_the_maximum_is_refused_naming_it(double target)
    {
        var e = Assert.Throws<ArgumentException>(() => PrivacyAccountants.Prv.NoiseMultiplierFor(target, 0.04, 480, 1e-5));
        Assert.Contains("target epsilon", e.Message);
        Assert.Contains("none", e.Message);
    }

    [Fact]
    public void More_steps_than_calibration_covers_are_refused_with_the_fix()
    {
        var e = Assert.Throws<ArgumentException>(() => PrivacyAccountants.Prv.NoiseMultiplierFor(3, 0.04, PrivacyAccountants.MaxCalibratedSteps + 1, 1e-5));
        Assert.Contains("noise_multiplier", e.Message);
        Assert.Contains("fewer rounds", e.Message);
    }
}
