using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Storage;

/// <summary>
/// Opens connections to the embedded store (WAL, busy timeout). On first use it verifies an existing file without
/// changing it (<see cref="SqliteStoreCheck"/>: a damaged store is refused, never taken for a new one), then upgrades
/// it; a missing file is created whole in a temporary file and moved into place, so no opener ever sees it half made.
/// </summary>
public sealed class SqliteDatabase
{
    private readonly string connectionString;
    private readonly int busyTimeout;
    private readonly Lazy<bool> prepared;

    public SqliteDatabase(IOptions<SqliteStorageOptions> options)
    {
        DatabasePath = Path.GetFullPath(options.Value.DatabasePath);
        busyTimeout = options.Value.BusyTimeoutMilliseconds;
        connectionString = ConnectionString(DatabasePath, pooling: true);
        prepared = new Lazy<bool>(Prepare); // a damaged store's exception is kept: every open refuses alike
    }

    /// <summary>The store's file, absolute.</summary>
    public string DatabasePath { get; }

    /// <summary>An open connection; <see cref="StateStoreDamagedException"/> when the store is damaged.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        _ = prepared.Value;
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        using var pragma = connection.CreateCommand();
        pragma.CommandText = $"PRAGMA busy_timeout = {busyTimeout};";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    private bool Prepare()
    {
        SqliteStoreCheck.Verify(DatabasePath);
        if (!File.Exists(DatabasePath)) CreateNew();
        AddChecksums();
        return true;
    }

    private void CreateNew()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        var temporary = $"{DatabasePath}.new-{Environment.ProcessId}-{Guid.NewGuid():N}";
        using (var connection = new SqliteConnection(ConnectionString(temporary, pooling: false)))
        {
            connection.Open();
            Execute(connection, $"""
                PRAGMA journal_mode = WAL;
                BEGIN;
                CREATE TABLE grain_state (
                    grain_type TEXT NOT NULL,
                    grain_id   TEXT NOT NULL,
                    etag       TEXT NOT NULL,
                    data       BLOB NOT NULL,
                    updated_at TEXT NOT NULL,
                    checksum   BLOB NOT NULL,
                    PRIMARY KEY (grain_type, grain_id));
                CREATE TABLE jobs (
                    job_id     TEXT PRIMARY KEY,
                    state      TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    checksum   BLOB NOT NULL);
                PRAGMA user_version = {SqliteStoreCheck.ChecksummedSchema};
                COMMIT;
                """);
        } // the only connection closed: its log is checkpointed into the file and removed
        try
        {
            File.Move(temporary, DatabasePath, overwrite: false);
        }
        catch (IOException) when (File.Exists(DatabasePath))
        {
            File.Delete(temporary); // another silo on this file created it first
            SqliteStoreCheck.Verify(DatabasePath);
        }
    }

    /// <summary>
    /// A store of the first format has no checksums: it passed SQLite's check and FedGrains' tables, so its rows are
    /// sealed as they are now (later damage shows). One transaction; another silo upgrading at once finds it done.
    /// </summary>
    private void AddChecksums()
    {
        using var connection = new SqliteConnection(ConnectionString(DatabasePath, pooling: false));
        connection.Open();
        Execute(connection, $"PRAGMA busy_timeout = {busyTimeout};");
        using var transaction = connection.BeginTransaction(deferred: false);
        using var version = connection.CreateCommand();
        version.CommandText = "PRAGMA user_version";
        if (Convert.ToInt32(version.ExecuteScalar()) >= SqliteStoreCheck.ChecksummedSchema) return;
        Execute(connection, "ALTER TABLE grain_state ADD COLUMN checksum BLOB; ALTER TABLE jobs ADD COLUMN checksum BLOB;");
        var grains = new List<(string Type, string Id, byte[] Checksum)>();
        var jobs = new List<(string Id, byte[] Checksum)>();
        using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT grain_type, grain_id, etag, data FROM grain_state";
            using (var reader = read.ExecuteReader())
                while (reader.Read())
                    grains.Add((reader.GetString(0), reader.GetString(1), RowChecksum.Grain(reader.GetString(0), reader.GetString(1), reader.GetString(2), (byte[])reader.GetValue(3))));
            read.CommandText = "SELECT job_id, state, updated_at FROM jobs";
            using (var reader = read.ExecuteReader())
                while (reader.Read()) jobs.Add((reader.GetString(0), RowChecksum.Job(reader.GetString(0), reader.GetString(1), reader.GetString(2))));
        }
        using var seal = connection.CreateCommand();
        foreach (var (type, id, checksum) in grains)
        {
            seal.CommandText = "UPDATE grain_state SET checksum = $checksum WHERE grain_type = $type AND grain_id = $id";
            seal.Parameters.Clear();
            seal.Parameters.AddWithValue("$checksum", checksum);
            seal.Parameters.AddWithValue("$type", type);
            seal.Parameters.AddWithValue("$id", id);
            seal.ExecuteNonQuery();
        }
        foreach (var (id, checksum) in jobs)
        {
            seal.CommandText = "UPDATE jobs SET checksum = $checksum WHERE job_id = $id";
            seal.Parameters.Clear();
            seal.Parameters.AddWithValue("$checksum", checksum);
            seal.Parameters.AddWithValue("$id", id);
            seal.ExecuteNonQuery();
        }
        Execute(connection, $"PRAGMA user_version = {SqliteStoreCheck.ChecksummedSchema};");
        transaction.Commit();
    }

    private static string ConnectionString(string path, bool pooling) =>
        new SqliteConnectionStringBuilder { DataSource = path, Pooling = pooling }.ToString();

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
