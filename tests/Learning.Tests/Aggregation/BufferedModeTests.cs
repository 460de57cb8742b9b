using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Jobs;

namespace FedGrains.Learning.Tests.Aggregation;

public sealed class BufferedModeTests
{
    [Theory]
    [InlineData(0, 0.5, 1.0)]
    [InlineData(1, 0.5, 0.70710678118654752)]
    [InlineData(3, 0.5, 0.5)]
    [InlineData(3, 1.0, 0.25)]
    [InlineData(7, 0.0, 1.0)]
    public void Staleness_weight_is_FedBuffs_polynomial(long staleness, double exponent, double expected) =>
        Assert.Equal(expected, Staleness.Weight(staleness, exponent), 12);

    [Fact]
    public void A_stale_update_moves_the_weighted_mean_less_than_a_fresh_one()
    {
        float[] fresh = [1f], stale = [-1f];
        var mean = new WeightedMeanRule().Aggregate([
            new WeightedDelta(fresh, 100 * Staleness.Weight(0, 0.5)),
            new WeightedDelta(stale, 100 * Staleness.Weight(3, 0.5)),
        ]);
        // (1 * 1 - 1 * 0.5) / 1.5
        Assert.Equal(1f / 3f, mean[0], 5);
    }

    [Fact]
    public void Gateways_calibrate_noise_for_their_expected_share_of_versions()
    {
        var sync = new JobSpec { Rounds = 20, GatewayCount = 10 };
        var buffered = sync with { Aggregation = new AggregationSpec { Buffered = new BufferedSpec { Enabled = true, BufferSize = 3 } } };

        Assert.Equal(20, sync.PlannedParticipations());
        Assert.Equal(9, buffered.PlannedParticipations()); // ceil(1.5 * 20 * 3 / 10)
        Assert.Equal(20, (buffered with { GatewayCount = 3 }).PlannedParticipations()); // at most once per version
        Assert.Equal(4, (buffered with { Aggregation = new AggregationSpec { Buffered = new BufferedSpec { Enabled = true, ParticipationsPerGateway = 4 } } })
            .PlannedParticipations());
    }

    [Fact]
    public void Buffered_settings_that_cannot_work_are_refused_with_the_fix()
    {
        var spec = new JobSpec
        {
            GatewayCount = 4,
            CohortSize = 2,
            Aggregation = new AggregationSpec
            {
                Rule = "krum",
                Byzantine = 1,
                Buffered = new BufferedSpec { Enabled = true, BufferSize = 3, Concurrency = 2, StalenessExponent = -1, MaxStaleness = 5, KeepVersions = 3 },
            },
        };
        var problems = string.Join("\n", JobSpecValidator.Problems(spec));

        Assert.Contains("aggregation.buffered.concurrency: 2 must be 0 (every gateway) or between buffer_size (3)", problems);
        Assert.Contains("aggregation.buffered.staleness_exponent: -1", problems);
        Assert.Contains("aggregation.buffered.keep_versions: 3 must be 0 (all) or more than max_staleness (5)", problems);
        Assert.Contains("cohort_size: 2 has no meaning in buffered mode", problems);
        Assert.Contains("aggregation.buffered.buffer_size: Krum with aggregation.byzantine=1 needs more than 4 updates per version", problems);
        Assert.Contains("buffer_size: 9 must be between 1 and the number of gateways (4)",
            string.Join("\n", JobSpecValidator.Problems(spec with { CohortSize = 0, Aggregation = new AggregationSpec { Buffered = new BufferedSpec { Enabled = true, BufferSize = 9 } } })));
        Assert.Empty(JobSpecValidator.Problems(spec with { CohortSize = 0, Aggregation = new AggregationSpec { Buffered = new BufferedSpec { Enabled = true } } }));
    }
}
