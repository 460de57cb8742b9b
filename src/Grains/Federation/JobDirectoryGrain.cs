using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Storage;
using Orleans.Concurrency;

namespace FedGrains.Grains.Federation;

[StatelessWorker]
public sealed class JobDirectoryGrain(IJobIndex index) : Grain, IJobDirectoryGrain
{
    public async Task<IReadOnlyList<JobSummary>> ListAsync() =>
        (await index.ListAsync()).Select(j => new JobSummary(j.JobId, j.State)).ToArray();
}
