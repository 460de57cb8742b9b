using Orleans.Concurrency;

namespace FedGrains.Grains.Interfaces;

/// <summary>Lists the jobs the cluster's job index knows (key: 0). Stateless: it reads the index.</summary>
[Alias("fedgrains.job-directory")]
public interface IJobDirectoryGrain : IGrainWithIntegerKey
{
    [Alias("list"), ReadOnly]
    Task<IReadOnlyList<JobSummary>> ListAsync();
}

[GenerateSerializer, Immutable, Alias("fedgrains.job-summary")]
public sealed record JobSummary([property: Id(0)] string JobId, [property: Id(1)] string State);
