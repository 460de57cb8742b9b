namespace FedGrains.Grains.Storage;

/// <summary>
/// Which jobs exist and which are unfinished, so a restarted silo can wake unfinished jobs by itself (Orleans ships no
/// SQLite reminder table). Written ahead of the job's own state on start and behind it on completion, so a crash
/// can only leave a finished job marked running (harmless: waking it finds it done), never the reverse. So a job the
/// index lists as finished has state: when that state is missing, the store lost it.
/// </summary>
public interface IJobIndex
{
    Task SetStateAsync(string jobId, string state, CancellationToken cancellationToken = default);

    /// <summary>The job's entry, or null when the index does not list it.</summary>
    Task<string?> GetStateAsync(string jobId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<(string JobId, string State)>> ListAsync(CancellationToken cancellationToken = default);
}
