using FedGrains.Grains.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace FedGrains.Cluster.Tests.Cli.BadInput;

/// <summary>
/// A state store that is damaged, or missing where a run shows there was one: `run` and `privacy report --state` must
/// refuse naming the file and what to restore, and leave it as it is (the harness checks every file is unchanged).
/// What they must say is single words: the console wraps long lines.
/// Cases that need a store a real job wrote (a row's blob garbled, a gateway's row deleted) are in DamagedStoreTests.
/// </summary>
internal static class StoreCases
{
    private const string Db = "out/state/fedgrains.db";

    private static readonly string[] RunArgs =
        ["run", "--dataset", "synthetic", "--gateways", "2", "--rounds", "2", "--hidden", "8", "--output", "{dir}/out", "--job-id", "j"];

    private static BadInput Run(string name, byte[] store, params string[] mustSay) =>
        new BadInput(name, RunArgs, ["fedgrains.db", "restore", "backup", .. mustSay]).With(Db, store);

    private static BadInput Report(string name, byte[] store, params string[] mustSay) =>
        new BadInput(name, ["privacy", "report", "--state", "{dir}/" + Db], ["fedgrains.db", "restore", "backup", .. mustSay]).With(Db, store);

    public static IEnumerable<BadInput> All()
    {
        var empty = EmptyStore();
        return
        [
            Run("a zero-byte store (SQLite would start every job over)", [], "empty"),
            Report("privacy report on a zero-byte store", [], "empty"),
            Run("a store too short to be SQLite", "not a database"u8.ToArray(), "short"),
            Run("a store of random bytes", Random(8192), "header"),
            Report("privacy report on a store of random bytes", Random(8192), "header"),
            Run("a store truncated to half", empty[..(empty.Length / 2)], "truncated"),
            Run("a SQLite file of another program", ForeignDatabase(), "grain_state", "FedGrains"),
            Run("a store whose grain_state table was dropped", WithoutGrainState(), "grain_state", "dropped"),
            Run("a store whose row does not match its checksum", WithUncheckedRow(), "checksum"),
            Report("privacy report on a store whose row does not match its checksum", WithUncheckedRow(), "checksum"),
            new BadInput("a write-ahead log left without its store", RunArgs, ["fedgrains.db-wal", "missing", "restore"])
                .With(Db + "-wal", Random(4096)),
            new BadInput("a run's report without its state (a re-run would spend again)", RunArgs, ["report.json", "fedgrains.db", "missing", "--output"])
                .With("out/report.json", """{"job_id":"j","state":"completed"}"""),
        ];
    }

    private static byte[] Random(int length)
    {
        var bytes = new byte[length];
        new Random(13).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A FedGrains store as this release creates it, with no job in it.</summary>
    private static byte[] EmptyStore() => Build(_ => { });

    /// <summary>A FedGrains store holding one row whose bytes differ from what its checksum covers.</summary>
    private static byte[] WithUncheckedRow() => Build(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO grain_state VALUES ('gateway', 'gateway/j/gw-00', '1', $data, '2026-01-01T00:00:00Z', $checksum)";
        command.Parameters.AddWithValue("$data", new byte[] { 1, 2, 3 });
        command.Parameters.AddWithValue("$checksum", RowChecksum.Grain("gateway", "gateway/j/gw-00", "1", [1, 2, 4]));
        command.ExecuteNonQuery();
    });

    private static byte[] WithoutGrainState() => Build(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = "DROP TABLE grain_state";
        command.ExecuteNonQuery();
    });

    private static byte[] ForeignDatabase() => Build(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE notes (text TEXT)";
        command.ExecuteNonQuery();
    }, fedGrains: false);

    /// <summary>A SQLite file made by <paramref name="change"/> on a new FedGrains store (made as a silo makes it) or on an empty database.</summary>
    private static byte[] Build(Action<SqliteConnection> change, bool fedGrains = true)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("fedgrains-store-case-").FullName, "fedgrains.db");
        try
        {
            using (var connection = fedGrains
                       ? new SqliteDatabase(Options.Create(new SqliteStorageOptions { DatabasePath = path })).OpenAsync().GetAwaiter().GetResult()
                       : new SqliteConnection($"Data Source={path}"))
            {
                if (!fedGrains) connection.Open();
                change(connection);
            }
            SqliteConnection.ClearAllPools(); // closes the pooled connections: the log is checkpointed into the file
            return File.ReadAllBytes(path);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, true);
        }
    }
}
