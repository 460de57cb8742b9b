using FedGrains.Learning.Gateways;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.SecureAggregation;
using FedGrains.Learning.Training;

namespace FedGrains.Learning.Tests.Gateways;

public sealed class SitePolicyTests
{
    private const string P = "FedGrains:Site:Policy";

    private static readonly PlannedWork Work = new("sample", NoiseMultiplier: 1.2, SampleRate: 0.05, Epsilon: 2.5, Delta: 1e-5, ModelKind: "mlp", Parameters: 10_000);

    private static IReadOnlyList<string> Check(SitePolicy policy, PlannedWork work) => policy.Check("hospital-a", "J", work);

    [Fact]
    public void A_policy_without_limits_allows_a_sample_level_job_and_nothing_else_by_noise_level()
    {
        Assert.Empty(Check(new SitePolicy(), Work));
        Assert.Equal([$"site hospital-a refuses job J: noise level 'none' is not one the site allows (sample) ({P}:AllowedNoiseLevels)."],
            Check(new SitePolicy(), Work with { NoiseLevel = "none", NoiseMultiplier = 0, Epsilon = double.PositiveInfinity }));
        Assert.Single(Check(new SitePolicy(), Work with { NoiseLevel = "batch" }));
        Assert.Empty(Check(new SitePolicy { AllowedNoiseLevels = ["sample", "batch", "none"] }, Work with { NoiseLevel = "none" }));
        Assert.Single(Check(new SitePolicy { AllowedNoiseLevels = ["none"] }, Work));
    }

    [Fact]
    public void The_noise_multiplier_may_equal_the_minimum_not_go_below()
    {
        var policy = new SitePolicy { MinNoiseMultiplier = 1.0 };
        Assert.Empty(Check(policy, Work with { NoiseMultiplier = 1.0 }));
        Assert.Equal([$"site hospital-a refuses job J: noise multiplier 0.8 is below the site's minimum 1.0 ({P}:MinNoiseMultiplier)."],
            Check(policy, Work with { NoiseMultiplier = 0.8 }));
        Assert.Single(Check(policy, Work with { NoiseMultiplier = Math.BitDecrement(1.0) }));
    }

    [Fact]
    public void The_planned_epsilon_may_reach_the_maximum_per_job_not_exceed_it()
    {
        var policy = new SitePolicy { MaxEpsilonPerJob = 2.0 };
        Assert.Empty(Check(policy, Work with { Epsilon = 2.0 }));
        Assert.Equal([$"site hospital-a refuses job J: planned epsilon 2.5 for the whole job (delta 1E-05) is above the site's maximum 2.0 per job ({P}:MaxEpsilonPerJob)."],
            Check(policy, Work));
        Assert.Single(Check(policy, Work with { Epsilon = 2.001 }));
        var unbounded = Assert.Single(Check(policy with { AllowedNoiseLevels = ["sample", "batch"] }, Work with { NoiseLevel = "batch", Epsilon = double.PositiveInfinity }));
        Assert.Contains("claims no epsilon", unbounded);
    }

    [Fact]
    public void The_sample_rate_may_reach_the_maximum_not_exceed_it()
    {
        var policy = new SitePolicy { MaxSampleRate = 0.05 };
        Assert.Empty(Check(policy, Work));
        Assert.Equal([$"site hospital-a refuses job J: sample rate 0.1 is above the site's maximum 0.05 ({P}:MaxSampleRate)."],
            Check(policy, Work with { SampleRate = 0.1 }));
    }

    [Fact]
    public void Only_listed_model_kinds_are_trained_when_a_list_is_set()
    {
        var policy = new SitePolicy { AllowedModelKinds = ["mlp", "text"] };
        Assert.Empty(Check(policy, Work));
        Assert.Empty(Check(policy, Work with { ModelKind = "MLP" }));
        Assert.Equal([$"site hospital-a refuses job J: model kind 'cnn' is not one the site allows (mlp, text) ({P}:AllowedModelKinds)."],
            Check(policy, Work with { ModelKind = "cnn" }));
    }

    [Fact]
    public void The_parameter_count_may_reach_the_maximum_not_exceed_it()
    {
        var policy = new SitePolicy { MaxParameters = 10_000 };
        Assert.Empty(Check(policy, Work));
        Assert.Equal([$"site hospital-a refuses job J: the model has 10,001 parameters, above the site's maximum 10,000 ({P}:MaxParameters)."],
            Check(policy, Work with { Parameters = 10_001 }));
    }

    [Fact]
    public void Listed_submitters_only_and_an_unknown_one_is_refused()
    {
        var policy = new SitePolicy { AllowedSubmitters = ["alice"] };
        Assert.Empty(policy.Check("hospital-a", "J", Work, "alice"));
        Assert.Equal([$"site hospital-a refuses job J: submitter 'bob' is not one of the site's allowed submitters ({P}:AllowedSubmitters)."],
            policy.Check("hospital-a", "J", Work, "bob"));
        Assert.Contains("not known", Assert.Single(policy.Check("hospital-a", "J", Work, null)));
        Assert.Empty(new SitePolicy().Check("hospital-a", "J", Work, null));
    }

    [Fact]
    public void Every_broken_rule_is_reported_not_only_the_first()
    {
        var policy = new SitePolicy { MinNoiseMultiplier = 2, MaxSampleRate = 0.01, MaxEpsilonPerJob = 1, AllowedModelKinds = ["text"], MaxParameters = 10, AllowedSubmitters = ["alice"] };
        var refusals = policy.Check("hospital-a", "J", Work with { NoiseLevel = "batch" }, "bob");
        Assert.Equal(7, refusals.Count);
        Assert.All(refusals, r => Assert.StartsWith("site hospital-a refuses job J: ", r));
    }

    [Fact]
    public void Planned_work_is_the_gateways_whole_job_as_its_accountant_and_the_model_factory_see_it()
    {
        var spec = new JobSpec { Rounds = 5, Model = new ModelSpec("mlp", [32]), Privacy = new PrivacySpec { TargetEpsilon = 2, Delta = 1e-5 } };
        var plan = LocalPlan.For(new HyperParameters { BatchSize = 100, LocalEpochs = 1 }, spec.Privacy, 2000, spec.PlannedParticipations());

        var work = PlannedWork.Of(spec, plan, [20], 4);

        Assert.Equal(PrivacyAccountants.Prv.Epsilon(plan.Charges(5), 1e-5), work.Epsilon);
        Assert.InRange(work.Epsilon, 1.9, 2.0);
        Assert.Equal((0.05, plan.Settings.NoiseMultiplier, 20L * 32 + 32 + 32 * 4 + 4), (work.SampleRate, work.NoiseMultiplier, work.Parameters));
        var none = PlannedWork.Of(spec with { Privacy = spec.Privacy with { NoiseLevel = "none" } },
            LocalPlan.For(new HyperParameters { BatchSize = 100 }, spec.Privacy with { NoiseLevel = "none" }, 2000, 5), [20], 4);
        Assert.Equal((double.PositiveInfinity, 0.0, "none"), (none.Epsilon, none.NoiseMultiplier, none.NoiseLevel));
    }

    [Fact]
    public void A_site_that_caps_the_secure_sums_epsilon_trains_only_under_secure_aggregation_with_distributed_noise_within_the_cap()
    {
        var policy = new SitePolicy { MaxSecureSumEpsilonPerJob = 8 };
        Assert.Empty(Check(policy, Work with { Secure = true, SecureSumEpsilon = 8 }));
        Assert.Equal([$"site hospital-a refuses job J: its secure sums' site-level epsilon 8.5 over the whole job (delta 1E-05) is above the site's maximum 8.0 per job; raise aggregation.secure.noise_multiplier or lower the rounds ({P}:MaxSecureSumEpsilonPerJob)."],
            Check(policy, Work with { Secure = true, SecureSumEpsilon = 8.5 }));
        Assert.Contains("carry no distributed noise", Assert.Single(Check(policy, Work with { Secure = true })));
        Assert.Contains("the federation would see each of its deltas", Assert.Single(Check(policy, Work)));
        Assert.Empty(Check(new SitePolicy(), Work));
    }

    [Fact]
    public void The_planned_secure_sum_epsilon_is_what_the_ledger_will_hold_after_every_planned_sum()
    {
        var secure = new SecureAggregationSpec { Enabled = true, NoiseMultiplier = 2, ClippingNorm = 1 };
        var spec = new JobSpec
        {
            Rounds = 4, Model = new ModelSpec("mlp", [32]), Privacy = new PrivacySpec { TargetEpsilon = 2, Delta = 1e-5 },
            Gateways = [.. Enumerable.Range(0, 6).Select(i => new GatewaySpec { Id = $"g{i}" })],
            Aggregation = new AggregationSpec { Secure = secure },
        };
        var plan = LocalPlan.For(new HyperParameters { BatchSize = 100 }, spec.Privacy, 2000, spec.PlannedParticipations());
        var work = PlannedWork.Of(spec, plan, [20], 4);

        // What the gateways record: one charge per round's sum, from the round's plan at the cohort of 6.
        var perSum = SecureRoundPlan.For(secure, 6, (int)work.Parameters).Charge()!;
        var ledger = new PrivacyLedger(PrivacyAccountants.Prv, 1e-5, budget: null, Enumerable.Repeat(perSum, 4));
        Assert.True(work.Secure);
        Assert.Equal(ledger.SecureSumEpsilon()!.Value, work.SecureSumEpsilon!.Value, 1e-9);
        Assert.True(PlannedWork.Of(spec with { Rounds = 8 }, plan, [20], 4).SecureSumEpsilon > work.SecureSumEpsilon, "more sums, more site-level epsilon");
        Assert.Null(PlannedWork.Of(spec with { Aggregation = new AggregationSpec { Secure = secure with { NoiseMultiplier = 0 } } }, plan, [20], 4).SecureSumEpsilon);
    }
}
