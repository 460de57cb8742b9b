using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Storage;

/// <summary>Opens connections to the embedded store, creating the file and schema on first use (WAL, busy timeout).</summary>
public sealed class SqliteDatabase
{
    private readonly string connectionString;
    private readonly int busyTimeout;
    private readonly Lazy<bool> schema;

    public SqliteDatabase(IOptions<SqliteStorageOptions> options)
    {
        var path = Path.GetFullPath(options.Value.DatabasePath);
        busyTimeout = options.Value.BusyTimeoutMilliseconds;
        connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true }.ToString();
        schema = new Lazy<bool>(() => CreateSchema(path));
    }

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        _ = schema.Value;
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        using var pragma = connection.CreateCommand();
        pragma.CommandText = $"PRAGMA busy_timeout = {busyTimeout};";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    private bool CreateSchema(string path)
    {
        var dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            PRAGMA busy_timeout = {busyTimeout};
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS grain_state (
                grain_type TEXT NOT NULL,
                grain_id   TEXT NOT NULL,
                etag       TEXT NOT NULL,
                data       BLOB NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (grain_type, grain_id));
            CREATE TABLE IF NOT EXISTS jobs (
                job_id     TEXT PRIMARY KEY,
                state      TEXT NOT NULL,
                updated_at TEXT NOT NULL);
            """;
        command.ExecuteNonQuery();
        return true;
    }
}
