using System.Buffers.Binary;
using Microsoft.Data.Sqlite;

namespace FedGrains.Grains.Storage;

/// <summary>
/// Verifies an existing SQLite state store before FedGrains writes to it, reading it only. SQLite itself takes an
/// empty file for a new database, so without this a zero-byte or replaced store made FedGrains create a fresh schema
/// and start every job over, forgetting what each site had spent. Checked in order: the file (empty, too short, not
/// SQLite's header, shorter than its header says), SQLite's own <c>PRAGMA quick_check</c> (b-tree structure), FedGrains'
/// tables, then every row's checksum (<see cref="RowChecksum"/>: the bytes inside a record, which SQLite does not check).
/// </summary>
public static class SqliteStoreCheck
{
    /// <summary>The <c>PRAGMA user_version</c> from which every row carries a checksum.</summary>
    public const int ChecksummedSchema = 1;

    private static ReadOnlySpan<byte> Magic => "SQLite format 3\0"u8;

    /// <summary>
    /// Throws <see cref="StateStoreDamagedException"/> when <paramref name="path"/> exists and is not a sound FedGrains
    /// store, or is missing while its write-ahead log is still there. A missing file is a new store.
    /// </summary>
    public static void Verify(string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            if (new FileInfo(path + "-wal") is { Exists: true, Length: >= 32 }) // a log with at least its header holds transactions
                throw new StateStoreDamagedException(path, $"it is missing, but its write-ahead log {Path.GetFileName(path)}-wal is still there (the log holds the latest transactions of a database that is gone)");
            return;
        }
        if (file.Length == 0)
            throw new StateStoreDamagedException(path, "it is empty (0 bytes), which a FedGrains store never is (SQLite would take it for a new database and every job would start over)");
        CheckHeader(path, file.Length);
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            connection.Open();
            CheckStructure(path, connection);
            int version = CheckTables(path, connection);
            if (version >= ChecksummedSchema) CheckRows(path, connection);
        }
        catch (Exception e) when (e is SqliteException or InvalidCastException or FormatException)
        {
            throw new StateStoreDamagedException(path, $"SQLite cannot read it ({e.Message.TrimEnd('.')})");
        }
    }

    /// <summary>The 100-byte database header (https://sqlite.org/fileformat2.html#the_database_header).</summary>
    private static void CheckHeader(string path, long length)
    {
        if (length < 100) throw new StateStoreDamagedException(path, $"it is {length} bytes, too short for a SQLite database (its header alone is 100)");
        Span<byte> header = stackalloc byte[100];
        using (var stream = File.OpenRead(path)) stream.ReadExactly(header);
        if (!header[..16].SequenceEqual(Magic))
            throw new StateStoreDamagedException(path, "it does not start with SQLite's header: it is not a SQLite database, or its first bytes were overwritten");
        int pageSize = BinaryPrimitives.ReadUInt16BigEndian(header[16..]) is var p && p == 1 ? 65536 : p;
        if (pageSize < 512 || (pageSize & (pageSize - 1)) != 0)
            throw new StateStoreDamagedException(path, $"its header gives a page size of {pageSize}, which SQLite never writes: the header was overwritten");
        // The page count in the header is valid when the change counter matches "version-valid-for" (SQLite 3.7.0+ always).
        uint pages = BinaryPrimitives.ReadUInt32BigEndian(header[28..]);
        bool countValid = pages > 0 && BinaryPrimitives.ReadUInt32BigEndian(header[24..]) == BinaryPrimitives.ReadUInt32BigEndian(header[92..]);
        if (countValid && (long)pages * pageSize > length)
            throw new StateStoreDamagedException(path, $"it is truncated: {length} bytes, but its header records {pages} pages of {pageSize} bytes ({(long)pages * pageSize} bytes)");
    }

    private static void CheckStructure(string path, SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA quick_check(5)";
        using var reader = command.ExecuteReader();
        var problems = new List<string>();
        while (reader.Read()) problems.Add(reader.GetString(0));
        if (problems is not ["ok"])
            throw new StateStoreDamagedException(path, $"SQLite's integrity check fails ({Shorten(string.Join("; ", problems))})");
    }

    /// <summary>FedGrains' two tables, with their columns; returns the schema version (<c>PRAGMA user_version</c>).</summary>
    private static int CheckTables(string path, SqliteConnection connection)
    {
        int version = Convert.ToInt32(Scalar(connection, "PRAGMA user_version"));
        var required = new Dictionary<string, string[]>
        {
            ["grain_state"] = ["grain_type", "grain_id", "etag", "data", "updated_at"],
            ["jobs"] = ["job_id", "state", "updated_at"],
        };
        foreach (var (table, columns) in required)
        {
            var present = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA table_info({table})";
            using (var reader = command.ExecuteReader())
                while (reader.Read()) present.Add(reader.GetString(1));
            if (present.Count == 0)
                throw new StateStoreDamagedException(path, $"it has no {table} table: it is not a FedGrains store, or its tables were dropped");
            var expected = version >= ChecksummedSchema ? [.. columns, "checksum"] : columns;
            if (expected.FirstOrDefault(c => !present.Contains(c)) is { } missing)
                throw new StateStoreDamagedException(path, $"its {table} table has no {missing} column: it is not a FedGrains store, or its schema was changed");
        }
        return version;
    }

    private static void CheckRows(string path, SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT grain_type, grain_id, etag, data, checksum FROM grain_state";
        using (var reader = command.ExecuteReader())
            while (reader.Read())
                if (!RowChecksum.Matches(reader, 4, RowChecksum.Grain(reader.GetString(0), reader.GetString(1), reader.GetString(2), (byte[])reader.GetValue(3))))
                    throw new StateStoreDamagedException(path, $"the stored record {Shorten(reader.GetString(1))} ({Shorten(reader.GetString(0))} state) does not match its checksum: its bytes were damaged or changed outside FedGrains");
        command.CommandText = "SELECT job_id, state, updated_at, checksum FROM jobs";
        using (var reader = command.ExecuteReader())
            while (reader.Read())
                if (!RowChecksum.Matches(reader, 3, RowChecksum.Job(reader.GetString(0), reader.GetString(1), reader.GetString(2))))
                    throw new StateStoreDamagedException(path, $"the job index entry of {Shorten(reader.GetString(0))} does not match its checksum: its bytes were damaged or changed outside FedGrains");
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    /// <summary>A stored id or SQLite's diagnostics, cut short: a damaged store must not flood the terminal.</summary>
    private static string Shorten(string text) => text.Length <= 160 ? text : text[..160] + "...";
}
