using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Tests.Privacy;

public sealed class CalibrationCacheTests
{
    [Fact]
    public void A_cached_calibration_is_the_accountants_own_for_exactly_those_inputs()
    {
        var prv = PrivacyAccountants.Prv;
        PrivacyCharge[] metric = [new(1.0, 10, 1, Mechanism.NoisedMetric)];
        double direct = prv.NoiseMultiplierFor(3, 0.0427, 480, 1e-5, []);
        Assert.Equal(direct, CalibrationCache.NoiseMultiplierFor(prv, 3, 0.0427, 480, 1e-5, []));
        Assert.Equal(direct, CalibrationCache.NoiseMultiplierFor(prv, 3, 0.0427, 480, 1e-5, []));
        // Another release of the same data, another step count, another accountant: other calibrations, not the cached one.
        Assert.Equal(prv.NoiseMultiplierFor(3, 0.0427, 480, 1e-5, metric), CalibrationCache.NoiseMultiplierFor(prv, 3, 0.0427, 480, 1e-5, metric));
        Assert.True(CalibrationCache.NoiseMultiplierFor(prv, 3, 0.0427, 480, 1e-5, metric) > direct);
        Assert.True(CalibrationCache.NoiseMultiplierFor(prv, 3, 0.0427, 481, 1e-5, []) > direct);
        Assert.Equal(PrivacyAccountants.Rdp.NoiseMultiplierFor(3, 0.0427, 480, 1e-5, []), CalibrationCache.NoiseMultiplierFor(PrivacyAccountants.Rdp, 3, 0.0427, 480, 1e-5, []));
    }

    [Fact]
    public void A_target_out_of_reach_is_refused_every_time()
    {
        PrivacyCharge[] tooNoisy = [new(1.0, 0.01, 1000, Mechanism.NoisedMetric)];
        Assert.Throws<ArgumentException>(() => CalibrationCache.NoiseMultiplierFor(PrivacyAccountants.Prv, 3, 0.0427, 480, 1e-5, tooNoisy));
        Assert.Throws<ArgumentException>(() => CalibrationCache.NoiseMultiplierFor(PrivacyAccountants.Prv, 3, 0.0427, 480, 1e-5, tooNoisy));
    }
}
