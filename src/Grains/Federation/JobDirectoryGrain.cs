using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using FedGrains.Grains.Storage;
using Orleans.Concurrency;

namespace FedGrains.Grains.Federation;

/// <summary>Lists the jobs of the index that the calling client may see (a submitter its own, a site admin those on its site).</summary>
[StatelessWorker]
public sealed class JobDirectoryGrain(IJobIndex index) : Grain, IJobDirectoryGrain
{
    public async Task<IReadOnlyList<JobSummary>> ListAsync()
    {
        var jobs = (await index.ListAsync()).Select(j => new JobSummary(j.JobId, j.State)).ToArray();
        if (CallerContext.Current is not { Role: ClientRole.Submitter or ClientRole.SiteAdmin } caller) return jobs;
        var access = await Task.WhenAll(jobs.Select(j => GrainFactory.GetGrain<IFederationGrain>(j.JobId).GetAccessAsync()));
        return jobs.Where((_, i) => ClientSurface.JobAllows(caller, ClientAccess.ReadJob, access[i].Owner, access[i].Sites)).ToArray();
    }
}
