namespace FedGrains.Grains.Storage;

/// <summary>
/// Which jobs exist and which are unfinished, so a restarted silo can wake unfinished jobs by itself (Orleans ships no
/// SQLite reminder table). Written ahead of the job's own state on start and behind it on completion, so a crash
/// can only leave a finished job marked running (harmless: waking it finds it done), never the reverse.
/// </summary>
public interface IJobIndex
{
    Task SetStateAsync(string jobId, string state, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<(string JobId, string State)>> ListAsync(CancellationToken cancellationToken = default);
}
