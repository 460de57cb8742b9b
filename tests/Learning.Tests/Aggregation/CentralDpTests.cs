using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Tests.Aggregation;

public sealed class CentralDpTests
{
    [Fact]
    public void The_noised_mean_has_std_z_c_over_the_fixed_denominator()
    {
        var zeros = Enumerable.Range(0, 5).Select(_ => new WeightedDelta(new float[200_000], 1)).ToArray();

        var mean = CentralDp.NoisedMean(zeros, 200_000, clippingNorm: 0.5, sumNoiseMultiplier: 1.5, expected: 10, new GaussianNoise(3));

        double std = Math.Sqrt(mean.Average(v => (double)v * v));
        Assert.InRange(std, 0.075 * 0.98, 0.075 * 1.02);
    }

    [Fact]
    public void Updates_are_clipped_summed_unweighted_and_divided_by_the_expected_count_not_the_received_one()
    {
        var spec = new AggregationSpec
        {
            Clipping = new NormStageSpec { Mode = "fixed", Bound = 1.0 },
            CentralDp = new CentralDpSpec { Enabled = true, NoiseMultiplier = 1e-9, ExpectedUpdates = 4 },
        };
        GatewayDelta[] updates = [new("a", [3f, 4f], 1000), new("b", [0.3f, 0.4f], 1)];

        var result = AggregationPipeline.Run(spec, [0f, 0f], updates, null, expectedUpdates: 2, noise: new GaussianNoise(1));

        // a is clipped to norm 1 (0.6, 0.8); b is kept; example counts are ignored; the denominator is 4.
        Assert.Equal((0.6 + 0.3) / 4, result.Weights[0], 5);
        Assert.Equal((0.8 + 0.4) / 4, result.Weights[1], 5);
    }

    [Fact]
    public void The_sum_gets_less_noise_when_the_clipped_count_query_shares_the_budget()
    {
        Assert.Equal(1.0, CentralDp.SumNoiseMultiplier(1.0, null));
        Assert.Equal(1 / Math.Sqrt(1 - 1.0 / 100), CentralDp.SumNoiseMultiplier(1.0, 5.0), 12);
        Assert.Contains("count_noise", Assert.Throws<ArgumentException>(() => CentralDp.SumNoiseMultiplier(1.0, 0.5)).Message);
    }

    [Fact]
    public void Combinations_that_break_the_guarantee_are_refused_with_the_reason()
    {
        var spec = new JobSpec
        {
            Aggregation = new AggregationSpec
            {
                Rule = "median",
                Zeroing = new NormStageSpec { Mode = "adaptive", Bound = 10, TargetQuantile = 0.98, LearningRate = 2.3, Multiplier = 2, Increment = 1 },
                CentralDp = new CentralDpSpec { Enabled = true },
            },
        };

        var problems = string.Join("\n", JobSpecValidator.Problems(spec));

        Assert.Contains("central DP needs bounded sensitivity", problems);
        Assert.Contains("'median' needs individual updates, so it cannot follow central noise", problems);
        Assert.Contains("adaptive zeroing looks at individual update norms", problems);
    }
}
