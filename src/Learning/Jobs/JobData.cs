using FedGrains.Learning.Data;
using FedGrains.Learning.Datasets;

namespace FedGrains.Learning.Jobs;

/// <summary>A job's data as its spec names it: the shared dataset split among the gateways without a site-local source.</summary>
public static class JobData
{
    /// <summary>Loads (or generates) the job's data; synthetic data that cannot fit is refused with the estimate first.</summary>
    public static FederatedDataset Load(JobSpec spec)
    {
        var d = spec.Dataset;
        if (d.Kind is "synthetic" or "synthetic-text")
            MemoryEstimate.Check(MemoryEstimate.SyntheticData(d), $"dataset '{d.Kind}' ({(long)d.SyntheticTrainExamples + d.SyntheticTestExamples} examples)",
                "make dataset.synthetic_features (or synthetic_sequence_length) or the synthetic example counts smaller.");
        return FederatedDataset.Load(d, spec.Seed, spec.ResolveGateways().Where(g => g.Source is null).Select(g => g.Id).ToArray());
    }

    /// <summary>The training data of <paramref name="gateway"/> in the job's features.</summary>
    public static LabeledData ForGateway(this FederatedDataset dataset, GatewaySpec gateway) => dataset.ForGateway(gateway.Id, gateway.Source);
}
