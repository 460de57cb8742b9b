using Microsoft.Data.Sqlite;

namespace FedGrains.Grains.Storage;

/// <summary>The job index as a table next to the grain state in the embedded SQLite file; each entry carries its <see cref="RowChecksum"/>.</summary>
public sealed class SqliteJobIndex(SqliteDatabase database, TimeProvider time) : IJobIndex
{
    public async Task SetStateAsync(string jobId, string state, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().ToString("O");
        await using var connection = await database.OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO jobs (job_id, state, updated_at, checksum) VALUES ($id, $state, $now, $checksum)
            ON CONFLICT (job_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, checksum = excluded.checksum
            """;
        command.Parameters.AddWithValue("$id", jobId);
        command.Parameters.AddWithValue("$state", state);
        command.Parameters.AddWithValue("$now", now);
        command.Parameters.AddWithValue("$checksum", RowChecksum.Job(jobId, state, now));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<string?> GetStateAsync(string jobId, CancellationToken cancellationToken = default) =>
        (await ReadAsync("WHERE job_id = $id", jobId, cancellationToken)).Select(j => j.State).SingleOrDefault();

    public Task<IReadOnlyList<(string JobId, string State)>> ListAsync(CancellationToken cancellationToken = default) =>
        ReadAsync("", null, cancellationToken);

    private async Task<IReadOnlyList<(string JobId, string State)>> ReadAsync(string where, string? jobId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT job_id, state, updated_at, checksum FROM jobs {where} ORDER BY updated_at";
        if (jobId is not null) command.Parameters.AddWithValue("$id", jobId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var jobs = new List<(string, string)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var (id, state) = (reader.GetString(0), reader.GetString(1));
            if (!RowChecksum.Matches(reader, 3, RowChecksum.Job(id, state, reader.GetString(2))))
                throw new InvalidDataException($"the job index entry of {id} does not match its checksum in {database.DatabasePath}: it was damaged or changed outside FedGrains; restore the store from a backup.");
            jobs.Add((id, state));
        }
        return jobs;
    }
}
