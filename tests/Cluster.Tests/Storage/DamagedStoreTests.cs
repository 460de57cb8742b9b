using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace FedGrains.Cluster.Tests.Storage;

/// <summary>
/// The store of a real `fedgrains run`, damaged as a failing disk, a careless copy or a partial restore would, then the
/// same command again. Before, a zero-byte or truncated store made a finished job run again from round 1 (spending
/// every site's budget twice) and other damage crashed with a stack trace. Now the run exits 2 naming the file, what
/// is wrong and what to restore, with no stack trace; the damaged file is left byte for byte; and `privacy report
/// --state` on it refuses as clearly.
/// </summary>
public sealed class DamagedStoreTests(DamagedStoreTests.CompletedRun completed) : IClassFixture<DamagedStoreTests.CompletedRun>
{
    private static string[] RunArgs(string output, int rounds = 2) =>
        ["run", "--dataset", "synthetic", "--gateways", "2", "--rounds", rounds.ToString(), "--hidden", "8", "--output", output, "--job-id", "j"];

    /// <summary>One finished two-round job; each case damages a copy of its output folder.</summary>
    public sealed class CompletedRun : IAsyncLifetime
    {
        public string Output { get; } = Path.Combine(Directory.CreateTempSubdirectory("fedgrains-damaged-").FullName, "out");

        public async Task InitializeAsync()
        {
            var (code, output) = await ProcessRunner.RunCliAsync(RunArgs(Output));
            Assert.True(code == 0, output);
        }

        public Task DisposeAsync()
        {
            Directory.Delete(Path.GetDirectoryName(Output)!, true);
            return Task.CompletedTask;
        }
    }

    /// <summary>Each damage and what the refusal must say is wrong (one of the phrases).</summary>
    public static TheoryData<string, string[], bool> Damages => new()
    {
        { "zero bytes", ["is empty (0 bytes)"], true },
        { "truncated to half", ["is truncated"], true },
        { "random bytes in the middle", ["does not match its checksum", "integrity check fails", "SQLite cannot read it"], true },
        { "header overwritten", ["does not start with SQLite's header"], true },
        { "grain_state dropped", ["has no grain_state table"], true },
        { "a gateway's blob garbled in its page", ["the stored record gateway/j/gw-01 (gateway state) does not match its checksum"], true },
        { "a gateway's row deleted", ["the state (privacy ledger) of gateway 'gw-01' of job 'j' is missing"], false },
        { "the job's row deleted", ["the state of job 'j' is missing", "job index lists it as Completed"], false },
        { "a site ledger's row deleted", ["the privacy ledger of site gw-01 is missing"], false },
    };

    [Theory, MemberData(nameof(Damages))]
    public async Task A_finished_job_on_a_damaged_store_is_refused_and_the_store_is_left_as_it_is(string damage, string[] says, bool unreadable)
    {
        var output = Copy(completed.Output);
        var db = Path.Combine(output, "state", "fedgrains.db");
        Damage(db, damage);
        var before = Hash(db);
        var report = Hash(Path.Combine(output, "report.json"));

        var (code, printed) = await ProcessRunner.RunCliAsync(RunArgs(output));

        Assert.True(code == 2, printed);
        AssertRefusal(printed, db, says);
        Assert.Equal(before, Hash(db));
        Assert.Equal(report, Hash(Path.Combine(output, "report.json"))); // the earlier run's report stands

        var (reportCode, reported) = await ProcessRunner.RunCliAsync("privacy", "report", "--state", db);
        // A store that cannot be opened is refused (2); one that opens with state missing reports what it can (1).
        Assert.True(reportCode == (unreadable ? 2 : 1), reported);
        AssertRefusal(reported, db, says);
        Assert.Equal(before, Hash(db));
    }

    /// <summary>A job killed (SIGKILL) after its first round and its gateway's row then lost: it used to finish "Completed" without that gateway.</summary>
    [Fact]
    public async Task A_half_done_job_whose_gateway_lost_its_state_stops_instead_of_going_on_without_it()
    {
        var output = Path.Combine(Path.GetDirectoryName(completed.Output)!, "half-done");
        using (var first = ProcessRunner.StartDotnet("fedgrains.dll", RunArgs(output, rounds: 30)))
        {
            Assert.True(await first.WaitForOutputAsync("round 1/30", TimeSpan.FromMinutes(2)), first.Output);
            first.Kill();
            await first.WaitAsync(TimeSpan.FromMinutes(1));
        }
        var db = Path.Combine(output, "state", "fedgrains.db");
        Execute(db, "DELETE FROM grain_state WHERE grain_id = 'gateway/j/gw-01'");
        var before = Hash(db);

        var (code, printed) = await ProcessRunner.RunCliAsync(RunArgs(output, rounds: 30));

        Assert.True(code == 2, printed);
        AssertRefusal(printed, db, ["the state (privacy ledger) of gateway 'gw-01' of job 'j' is missing"]);
        Assert.Equal(before, Hash(db)); // stopped before any gateway trained again
        Assert.False(File.Exists(Path.Combine(output, "report.json")));
    }

    private static void AssertRefusal(string output, string db, string[] says)
    {
        // The console wraps long lines: compare with every run of white space as one space.
        var text = Regex.Replace(output, @"\s+", " ");
        Assert.True(says.Any(s => text.Contains(s, StringComparison.Ordinal)), $"expected one of [{string.Join(" | ", says)}]:\n{output}");
        Assert.Contains(db, Regex.Replace(output, @"\s+", "")); // a long path is broken across lines
        Assert.Contains("from a backup", text);
        Assert.DoesNotContain("   at ", output);
        Assert.DoesNotContain("Exception", output);
        Assert.DoesNotContain("System.", output);
    }

    private static void Damage(string db, string damage)
    {
        long length = new FileInfo(db).Length;
        switch (damage)
        {
            case "zero bytes":
                File.WriteAllBytes(db, []);
                break;
            case "truncated to half":
                using (var file = File.OpenWrite(db)) file.SetLength(length / 2);
                break;
            case "random bytes in the middle":
                Execute(db, "VACUUM"); // no free pages left (whose bytes nothing reads): the middle holds live records
                Overwrite(db, new FileInfo(db).Length / 2, RandomBytes(64));
                break;
            case "header overwritten":
                Overwrite(db, 0, RandomBytes(100));
                break;
            case "grain_state dropped":
                Execute(db, "DROP TABLE grain_state");
                break;
            case "a gateway's blob garbled in its page":
                // In the file itself, as a bad sector would: SQLite's own structure stays intact. The piece is one
                // that occurs once in the file (free pages keep copies of older versions of the row).
                var blob = Scalar(db, "SELECT data FROM grain_state WHERE grain_id = 'gateway/j/gw-01'");
                var bytes = File.ReadAllBytes(db);
                var (piece, at) = Enumerable.Range(0, (blob.Length - 32) / 16).Select(i => blob.AsSpan(i * 16, 32).ToArray())
                    .Select(p => (Piece: p, At: bytes.AsSpan().IndexOf(p)))
                    .First(p => p.At > 0 && bytes.AsSpan().LastIndexOf(p.Piece) == p.At);
                Overwrite(db, at, piece.Select(b => (byte)~b).ToArray());
                break;
            case "a gateway's row deleted":
                Execute(db, "DELETE FROM grain_state WHERE grain_id = 'gateway/j/gw-01'");
                break;
            case "the job's row deleted":
                Execute(db, "DELETE FROM grain_state WHERE grain_id = 'federation/j'");
                break;
            case "a site ledger's row deleted":
                Execute(db, "DELETE FROM grain_state WHERE grain_id = 'siteledger/gw-01'");
                break;
            default:
                throw new ArgumentException(damage);
        }
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(5).NextBytes(bytes);
        return bytes;
    }

    private static void Overwrite(string path, long offset, byte[] bytes)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Position = offset;
        file.Write(bytes);
    }

    private static SqliteConnection Open(string db)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static void Execute(string db, string sql)
    {
        using var connection = Open(db);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static byte[] Scalar(string db, string sql)
    {
        using var connection = Open(db);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (byte[])command.ExecuteScalar()!;
    }

    private static string Copy(string output)
    {
        var copy = Path.Combine(Path.GetDirectoryName(output)!, Guid.NewGuid().ToString("N"));
        foreach (var file in Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(output, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return copy;
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
}
