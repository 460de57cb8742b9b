using System.Security.Cryptography;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using FedGrains.Learning.Privacy;
using Microsoft.Extensions.Options;

namespace FedGrains.Cluster.Tests.Security;

/// <summary>A sealed answer opens only for the call it answers, unaltered, under the cluster's key.</summary>
public sealed class AnswerSealsTests
{
    private static AnswerSeals Seals(byte[] key) => new(Options.Create(new AuthOptions { ClusterKey = Convert.ToBase64String(key) }));

    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    private static readonly SiteSpend Spend = new("job", "a", 3, 2, [new PrivacyCharge(0.01, 1.1, 100), new PrivacyCharge(1, double.PositiveInfinity, 1, Mechanism.NoisedMetric)], DateTimeOffset.UtcNow);

    [Fact]
    public void An_answer_opens_for_its_own_call_with_its_value()
    {
        var challenge = AnswerSeals.NewChallenge();
        var purpose = SealedPurpose.Spends("site", "job", "a");
        var answer = Seals(Key).Seal<IReadOnlyList<SiteSpend>>(purpose, challenge, [Spend]);

        Assert.Equal(Spend, Assert.Single(Seals(Key).Open(purpose, challenge, answer)));
        Assert.Null(Seals(Key).Open(SealedPurpose.Spend("site", Spend), challenge, Seals(Key).Seal<string?>(SealedPurpose.Spend("site", Spend), challenge, null)));
    }

    [Fact]
    public void An_altered_replayed_misdirected_or_foreign_answer_is_refused()
    {
        var challenge = AnswerSeals.NewChallenge();
        var purpose = SealedPurpose.Spend("site", Spend);
        var refusal = Seals(Key).Seal<string?>(purpose, challenge, "site 'site' lifetime budget 3 would be crossed");

        Assert.NotEqual(challenge, AnswerSeals.NewChallenge());
        var forgeries = new (string Purpose, string Challenge, Sealed<string?>? Answer)[]
        {
            (purpose, challenge, refusal with { Value = null }),                                   // "recorded" instead of the refusal
            (purpose, AnswerSeals.NewChallenge(), refusal),                                        // an earlier call's answer
            (SealedPurpose.Spend("other-site", Spend), challenge, refusal),                        // another site's answer
            (SealedPurpose.Spend("site", Spend with { Round = 4 }), challenge, refusal),          // another round's
            (purpose, challenge, Seals(RandomNumberGenerator.GetBytes(32)).Seal<string?>(purpose, challenge, null)), // another key
            (purpose, challenge, new Sealed<string?>(null, "")),
            (purpose, challenge, null),
        };
        foreach (var (p, c, answer) in forgeries)
        {
            var refused = Assert.Throws<InvalidOperationException>(() => Seals(Key).Open(p, c, answer));
            Assert.Contains("is not sealed by a silo of this cluster for this call", refused.Message);
        }
    }
}
