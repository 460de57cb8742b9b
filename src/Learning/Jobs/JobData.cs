using FedGrains.Learning.Data;
using FedGrains.Learning.Datasets;

namespace FedGrains.Learning.Jobs;

/// <summary>A job's data as its spec names it: the shared dataset split among the gateways without a site-local source.</summary>
public static class JobData
{
    public static FederatedDataset Load(JobSpec spec) =>
        FederatedDataset.Load(spec.Dataset, spec.Seed, spec.ResolveGateways().Where(g => g.Source is null).Select(g => g.Id).ToArray());

    /// <summary>The training data of <paramref name="gateway"/> in the job's features.</summary>
    public static LabeledData ForGateway(this FederatedDataset dataset, GatewaySpec gateway) => dataset.ForGateway(gateway.Id, gateway.Source);
}
