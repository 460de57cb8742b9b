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

    /// <summary>The data of <paramref name="gateway"/> in the job's features (all of it: see <see cref="ForGatewayTraining"/>).</summary>
    public static LabeledData ForGateway(this FederatedDataset dataset, GatewaySpec gateway) => dataset.ForGateway(gateway.Id, gateway.Source);

    /// <summary>What <paramref name="gateway"/> trains on: its data, less the part a personalised job holds out (<see cref="ForGatewayHeldOut"/>).</summary>
    public static LabeledData ForGatewayTraining(this FederatedDataset dataset, JobSpec spec, GatewaySpec gateway) =>
        spec.Model.Personalized ? SplitFor(dataset, spec, gateway).Train : dataset.ForGateway(gateway);

    /// <summary>The examples a personalised job's <paramref name="gateway"/> keeps out of training to evaluate its own model on.</summary>
    public static LabeledData ForGatewayHeldOut(this FederatedDataset dataset, JobSpec spec, GatewaySpec gateway) =>
        spec.Model.Personalized ? SplitFor(dataset, spec, gateway).HeldOut
            : throw new ArgumentException("only a job with model.local layers holds examples out at its gateways.");

    private static (LabeledData Train, LabeledData HeldOut) SplitFor(FederatedDataset dataset, JobSpec spec, GatewaySpec gateway)
    {
        // The gateway's own refusal names it (GatewayGrain.Examples).
        try { return HeldOut.Split(dataset.ForGateway(gateway), spec.Personalization.HeldOutFraction, Seeds.Derive32(spec.Seed, $"held-out/{gateway.Id}")); }
        catch (ArgumentException e) { throw new DataFileException(e.Message); }
    }
}
