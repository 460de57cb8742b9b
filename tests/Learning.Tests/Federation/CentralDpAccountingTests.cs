using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Tests.Federation;

public sealed class CentralDpAccountingTests
{
    private static readonly JobSpec Job = new()
    {
        GatewayCount = 10,
        CohortSize = 4,
        Aggregation = new AggregationSpec { CentralDp = new CentralDpSpec { Enabled = true, NoiseMultiplier = 1.2 } },
    };

    [Fact]
    public void Central_dp_is_accounted_with_the_cohort_sampling_rate()
    {
        Assert.Equal(PrivacyAccountants.Prv.Epsilon(0.4, 1.2, 7, 1e-5), CentralDpAccounting.Epsilon(Job, 7));
    }

    [Fact]
    public void Buffered_rounds_claim_no_amplification_and_without_central_dp_nothing_is_claimed()
    {
        var buffered = Job with { Aggregation = Job.Aggregation with { Buffered = new BufferedSpec { Enabled = true, BufferSize = 2 } } };
        Assert.Equal(PrivacyAccountants.Prv.Epsilon(1.0, 1.2, 7, 1e-5), CentralDpAccounting.Epsilon(buffered, 7));
        Assert.Null(CentralDpAccounting.Epsilon(new JobSpec(), 7));
    }
}
