using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Tests.Privacy;

public sealed class PrivacyLedgerTests
{
    private static readonly PrivacyCharge Round = new(256.0 / 6000, 1.5, 24);

    [Fact]
    public void An_empty_ledger_has_spent_nothing()
    {
        Assert.Equal(0, new PrivacyLedger(PrivacyAccountants.Prv, 1e-5, 3).Epsilon());
    }

    [Fact]
    public void Its_epsilon_is_the_accountants_composition_of_every_charge()
    {
        var charges = new[] { Round, Round, new PrivacyCharge(1.0, 40, 2, Mechanism.NoisedMetric) };
        var ledger = new PrivacyLedger(PrivacyAccountants.Rdp, 1e-5, null, charges);

        Assert.Equal(RdpAccountant.Epsilon(charges, 1e-5), ledger.Epsilon(), 12);
        Assert.Equal(PrvAccountant.Epsilon(charges, 1e-5), new PrivacyLedger(PrivacyAccountants.Prv, 1e-5, null, charges).Epsilon(), 12);
    }

    [Fact]
    public void A_projection_says_what_more_charges_would_bring_and_whether_they_fit()
    {
        var ledger = new PrivacyLedger(PrivacyAccountants.Prv, 1e-5, budget: 1.0, [Round]);
        double spent = ledger.Epsilon();

        var fits = ledger.Project([new PrivacyCharge(Round.SampleRate, Round.NoiseMultiplier, 1)]);
        var crosses = ledger.Project(Enumerable.Repeat(Round, 40));

        Assert.Equal(spent, fits.Spent);
        Assert.True(fits.Projected > spent && fits.Fits);
        Assert.True(crosses.Projected > 1.0);
        Assert.False(crosses.Fits);
        Assert.Single(ledger.Charges); // projecting records nothing
    }

    [Fact]
    public void Without_a_budget_everything_fits_and_a_release_without_noise_is_unbounded()
    {
        var ledger = new PrivacyLedger(PrivacyAccountants.Rdp, 1e-5, null, [Round]);
        var unnoised = ledger.Project([new PrivacyCharge(Round.SampleRate, 0, 24)]);

        Assert.True(double.IsPositiveInfinity(unnoised.Projected));
        Assert.True(unnoised.Fits);
        Assert.False(new PrivacyLedger(PrivacyAccountants.Prv, 1e-5, 100, [Round]).Project([new PrivacyCharge(0.1, 0, 1)]).Fits);
    }

    [Fact]
    public void Charges_read_as_a_person_would_say_them()
    {
        Assert.Equal("24 steps at q=0.04267, sigma=1.5 + 3 steps without noise (no epsilon claimed)",
            PrivacyLedger.Describe([Round, new PrivacyCharge(0.5, 0, 3)]));
    }
}
