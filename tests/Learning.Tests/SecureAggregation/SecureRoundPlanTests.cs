using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Learning.Tests.SecureAggregation;

public sealed class SecureRoundPlanTests
{
    private static readonly SecureAggregationSpec On = new() { Enabled = true };

    [Theory]
    [InlineData(10, 1000, 24)]
    [InlineData(100, 203_530, 24)]
    [InlineData(1000, 10_000, 32)]
    [InlineData(3, 50, 12)]
    public void The_scale_is_the_largest_that_meets_the_wrap_target(int gateways, int parameters, int bits)
    {
        var plan = SecureRoundPlan.For(On with { Bits = bits, ClippingNorm = 5 }, gateways, parameters);

        Assert.InRange(plan.WrapProbability, 1e-10, 1e-9); // the bound is met, and not by a needlessly small scale
        var finer = plan.Encoding with { Scale = plan.Encoding.Scale * 1.05 };
        Assert.True(SecureEncoding.WrapProbabilityBound(finer, plan.Length, gateways) > 1e-9);
    }

    [Fact]
    public void The_degree_and_threshold_default_to_secagg_plus_and_a_majority()
    {
        var plan = SecureRoundPlan.For(On, 100, 10);
        Assert.Equal((14, 8), (plan.Neighbours, plan.Threshold)); // k = 2 ceil(log2 100), t = k/2 + 1
        Assert.Equal((3, 2), (SecureRoundPlan.For(On, 4, 10).Neighbours, SecureRoundPlan.For(On, 4, 10).Threshold)); // small cohorts: classic SecAgg
        Assert.Equal(9, SecureRoundPlan.For(On with { Neighbours = 50 }, 10, 10).Neighbours);
    }

    [Theory]
    [InlineData(1, 0, 0, 24, "at least 2 gateways")]
    [InlineData(10, 3, 0, 24, "neighbours: 3 must be 0 (auto), an even number")]
    [InlineData(10, 4, 5, 24, "threshold: 5 must be more than half the neighbours per gateway and at most all of them (3..4 for a cohort of 10)")]
    [InlineData(10, 4, 2, 24, "threshold: 2 must be more than half")] // two disjoint pairs of neighbours would rebuild both secrets
    [InlineData(10, 0, 0, 40, "bits: 40 must be in 8..32")]
    public void Settings_that_cannot_work_are_refused_naming_the_field(int gateways, int neighbours, int threshold, int bits, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => SecureRoundPlan.For(On with { Neighbours = neighbours, Threshold = threshold, Bits = bits }, gateways, 100));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Too_few_bits_for_the_cohort_and_model_are_refused_with_a_suggestion()
    {
        var e = Assert.Throws<ArgumentException>(() => SecureRoundPlan.For(On with { Bits = 8 }, 1000, 1_000_000));
        Assert.Contains("give more bits (e.g. 16)", e.Message);
    }

    [Fact]
    public void The_decoded_mean_of_encoded_deltas_is_their_mean_to_within_rounding()
    {
        var random = new Random(3);
        var deltas = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, 300).Select(_ => (float)(random.NextDouble() - 0.5) * 0.1f).ToArray()).ToArray();
        var plan = SecureRoundPlan.For(On with { ClippingNorm = 10 }, deltas.Length, 300);
        var seed = SecureRoundPlan.RotationSeed("job", 1, 0);
        var sum = new uint[plan.Length];
        foreach (var d in deltas) ModularArithmetic.AddInPlace(sum, plan.Encode(d, seed, secureNoise: false), plan.Encoding.Bits);

        var mean = plan.DecodeMean(sum, deltas.Length, seed);
        for (int i = 0; i < 300; i++) Assert.Equal(deltas.Average(d => d[i]), mean[i], 1e-5);
    }

    [Theory]
    [InlineData(10, 16)]
    [InlineData(100, 20)]
    public void Identical_deltas_at_the_clipping_norm_do_not_wrap(int gateways, int bits)
    {
        // The worst case for wrapping: every delta points the same way, so their sum has norm n C.
        var random = new Random(9);
        var delta = Enumerable.Range(0, 1000).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        float norm = (float)Math.Sqrt(delta.Sum(v => (double)v * v));
        for (int i = 0; i < delta.Length; i++) delta[i] *= 3 / norm;
        var plan = SecureRoundPlan.For(On with { Bits = bits, ClippingNorm = 3 }, gateways, delta.Length);
        var seed = SecureRoundPlan.RotationSeed("job", 1, 0);
        var sum = new uint[plan.Length];
        for (int g = 0; g < gateways; g++) ModularArithmetic.AddInPlace(sum, plan.Encode(delta, seed, secureNoise: false), bits);

        var mean = plan.DecodeMean(sum, gateways, seed);
        double error = Math.Sqrt(delta.Select((v, i) => Math.Pow(v - mean[i], 2)).Sum());
        Assert.True(error < 0.01 * 3, $"error {error:G3} of a mean of norm 3");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(24)]
    [InlineData(32)]
    public void Masked_vectors_pack_to_their_bits_and_back(int bits)
    {
        var random = new Random(bits);
        var values = Enumerable.Range(0, 1001).Select(_ => (uint)random.NextInt64(1L << bits)).ToArray();
        var packed = ModularArithmetic.Pack(values, bits);
        Assert.Equal((1001L * bits + 7) / 8, packed.Length);
        Assert.Equal(values, ModularArithmetic.Unpack(packed, values.Length, bits));
        Assert.Throws<InvalidDataException>(() => ModularArithmetic.Unpack(packed[1..], values.Length, bits));
    }

    [Fact]
    public void Contexts_are_fresh_for_every_attempt_and_rotation_seeds_fixed_per_round()
    {
        Assert.NotEqual(SecureRoundPlan.NewContext("job", 1, 0), SecureRoundPlan.NewContext("job", 1, 0));
        Assert.Equal(SecureRoundPlan.RotationSeed("job", 1, 0), SecureRoundPlan.RotationSeed("job", 1, 0));
        Assert.NotEqual(SecureRoundPlan.RotationSeed("job", 1, 0), SecureRoundPlan.RotationSeed("job", 2, 0));
    }

    [Fact]
    public void The_validator_refuses_what_cannot_follow_a_secure_sum_and_says_why()
    {
        var spec = new JobSpec
        {
            GatewayCount = 5,
            Aggregation = new AggregationSpec
            {
                Secure = On,
                Rule = "median",
                Zeroing = new AggregationSpec().Zeroing with { Mode = "adaptive" },
                Clipping = new AggregationSpec().Clipping with { Mode = "fixed" },
                DiscardHarmful = new HarmfulUpdateSpec { Enabled = true },
                CentralDp = new CentralDpSpec { Enabled = true },
                Compression = new CompressionSpec { Kind = "top_k" },
            },
            Privacy = new PrivacySpec { LocalUpdateDp = new UpdateDpSpec { Enabled = true, NoiseMultiplier = 1, ClippingNorm = 1 } },
        };
        var problems = JobSpecValidator.Problems(spec);
        foreach (var (field, why) in new[]
        {
            ("aggregation.rule:", "needs individual updates"), ("aggregation.zeroing:", "judges each update's norm"),
            ("aggregation.clipping:", "use aggregation.secure.clipping_norm"), ("aggregation.discard_harmful:", "evaluates each update"),
            ("aggregation.central_dp:", "clips each update at the federation"), ("aggregation.compression:", "the integer encoding, which replaces it"),
            ("privacy.local_update_dp:", "continuous Gaussian noise before the integer encoding"),
        })
            Assert.Contains(problems, p => p.StartsWith(field) && p.Contains(why));
        Assert.Contains(JobSpecValidator.Problems(new JobSpec { Aggregation = new AggregationSpec { Secure = On, Buffered = new BufferedSpec { Enabled = true } } }),
            p => p.StartsWith("aggregation.buffered:"));
        Assert.Contains(JobSpecValidator.Problems(new JobSpec { GatewayCount = 1, Aggregation = new AggregationSpec { Secure = On } }), p => p.Contains("at least 2 gateways"));
        Assert.DoesNotContain(JobSpecValidator.Problems(new JobSpec { Aggregation = new AggregationSpec { Secure = On } }), p => p.Contains("secure"));
    }

    [Fact]
    public void Distributed_noise_is_refused_for_a_site_with_two_gateways_whose_sum_its_charge_does_not_cover()
    {
        JobSpec Spec(double z) => new()
        {
            Gateways = [new GatewaySpec { Id = "a1", Site = "a" }, new GatewaySpec { Id = "a2", Site = "a" }, new GatewaySpec { Id = "b", Site = "b" }],
            Aggregation = new AggregationSpec { Secure = On with { NoiseMultiplier = z } },
        };
        Assert.Contains("aggregation.secure.noise_multiplier: site 'a' has 2 gateways (a1, a2), and the distributed noise's site-level epsilon is accounted for one delta per site in each sum; give each site one gateway.",
            JobSpecValidator.Problems(Spec(1.0)));
        Assert.DoesNotContain(JobSpecValidator.Problems(Spec(0)), p => p.Contains("site 'a' has 2 gateways"));
    }
}
