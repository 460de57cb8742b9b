namespace FedGrains.Grains.Storage;

/// <summary>The job index as a table next to the grain state in the embedded SQLite file.</summary>
public sealed class SqliteJobIndex(SqliteDatabase database, TimeProvider time) : IJobIndex
{
    public async Task SetStateAsync(string jobId, string state, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO jobs (job_id, state, updated_at) VALUES ($id, $state, $now)
            ON CONFLICT (job_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
            """;
        command.Parameters.AddWithValue("$id", jobId);
        command.Parameters.AddWithValue("$state", state);
        command.Parameters.AddWithValue("$now", time.GetUtcNow().ToString("O"));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<(string JobId, string State)>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT job_id, state FROM jobs ORDER BY updated_at";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var jobs = new List<(string, string)>();
        while (await reader.ReadAsync(cancellationToken)) jobs.Add((reader.GetString(0), reader.GetString(1)));
        return jobs;
    }
}
