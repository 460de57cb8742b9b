using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace FedGrains.Grains.Hosting;

/// <summary>
/// At silo start, wakes every job the index lists as running; the FederationGrain resumes its rounds on activation
/// from its last persisted round. This stands in for a reminder table, which Orleans does not ship for SQLite.
/// </summary>
public sealed partial class JobResumer(IJobIndex index, IGrainFactory grains, ILogger<JobResumer> logger)
{
    public async Task ResumeAsync(CancellationToken cancellationToken)
    {
        foreach (var (jobId, state) in await index.ListAsync(cancellationToken))
        {
            if (state != nameof(JobState.Running)) continue;
            try
            {
                await grains.GetGrain<IFederationGrain>(jobId).WakeAsync();
                Woke(logger, jobId);
            }
            catch (Exception e)
            {
                WakeFailed(logger, e, jobId);
            }
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Woke unfinished job {JobId}")]
    private static partial void Woke(ILogger logger, string jobId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Could not wake job {JobId}")]
    private static partial void WakeFailed(ILogger logger, Exception e, string jobId);
}
