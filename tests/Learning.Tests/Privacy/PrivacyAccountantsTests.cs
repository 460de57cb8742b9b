using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Tests.Privacy;

public sealed class PrivacyAccountantsTests
{
    [Fact]
    public void Each_method_is_found_by_its_name_and_prv_is_the_default()
    {
        Assert.Equal("prv", PrivacyAccountants.Get("prv").Name);
        Assert.Equal("rdp", PrivacyAccountants.Get("rdp").Name);
        Assert.Equal("prv", PrivacyAccountants.Default);
        Assert.Equal(["prv", "rdp"], PrivacyAccountants.Names);
    }

    [Fact]
    public void An_unknown_name_is_refused_with_the_known_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => PrivacyAccountants.Get("moments"));
        Assert.Contains("'moments' is not known; use prv or rdp", e.Message);
        Assert.False(PrivacyAccountants.IsKnown("PRV")); // one spelling, meant exactly
    }

    [Theory]
    [InlineData("prv")]
    [InlineData("rdp")]
    public void A_calibrated_noise_multiplier_meets_the_target_and_little_less_noise_would_not(string name)
    {
        var accountant = PrivacyAccountants.Get(name);
        double q = 256.0 / 6000;
        double sigma = accountant.NoiseMultiplierFor(3, q, 480, 1e-5);

        Assert.True(accountant.Epsilon(q, sigma, 480, 1e-5) <= 3);
        Assert.True(accountant.Epsilon(q, sigma * 0.99, 480, 1e-5) > 3);
    }

    [Fact]
    public void Prv_is_never_looser_than_rdp_on_the_default_jobs_setting()
    {
        double q = 256.0 / 6000;
        Assert.True(PrivacyAccountants.Prv.Epsilon(q, 1.5379, 480, 1e-5) <= PrivacyAccountants.Rdp.Epsilon(q, 1.5379, 480, 1e-5));
        Assert.True(PrivacyAccountants.Prv.NoiseMultiplierFor(3, q, 480, 1e-5) < PrivacyAccountants.Rdp.NoiseMultiplierFor(3, q, 480, 1e-5));
    }
}
