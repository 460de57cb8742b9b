using FedGrains.Learning.Audit;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;

namespace FedGrains.Learning.Tests.Audit;

public sealed class PrivacyAuditTests
{
    private const double Delta = 1e-5;
    private const double SampleRate = 256.0 / 6000;

    [Fact]
    public void A_run_without_noise_is_caught_leaking()
    {
        var settings = new TrainerSettings(0.5, 1.0, NoiseMultiplier: 0, SampleRate, Steps: 240, NoiseLevel: NoiseLevel.None);

        var result = PrivacyAudit.Run(settings, Delta, canaries: 1000, seed: 3);

        Assert.True(result.EpsilonLowerBound > 3, $"lower bound {result.EpsilonLowerBound} from {result.Correct}/{result.Guesses}");
    }

    [Fact]
    public void A_dp_run_stays_below_its_claimed_epsilon()
    {
        const double claimed = 3;
        double sigma = PrivacyAccountants.Get("prv").NoiseMultiplierFor(claimed, SampleRate, 240, Delta);
        var settings = new TrainerSettings(0.5, 1.0, sigma, SampleRate, Steps: 240);

        var result = PrivacyAudit.Run(settings, Delta, canaries: 1000, seed: 3);

        Assert.True(result.EpsilonLowerBound < claimed, $"lower bound {result.EpsilonLowerBound} from {result.Correct}/{result.Guesses} exceeds the claim {claimed}");
    }

    [Fact]
    public void The_lower_bound_rejects_only_what_the_guesses_prove()
    {
        Assert.Equal(0, PrivacyAudit.LowerBound(100, 50, Delta, 0.05)); // a coin's score proves nothing
        double perfect = PrivacyAudit.LowerBound(1000, 1000, Delta, 0.05);
        // 1000 right answers: p^1000 <= 0.05 needs p >= 0.05^(1/1000), eps = log(p / (1 - p)).
        double p = Math.Pow(0.05, 1.0 / 1000);
        Assert.Equal(Math.Log(p / (1 - p)), perfect, 2);
        Assert.True(PrivacyAudit.LowerBound(200, 150, Delta, 0.05) is > 0.5 and < 1.5);
    }
}
