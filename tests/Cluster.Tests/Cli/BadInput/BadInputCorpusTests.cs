using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace FedGrains.Cluster.Tests.Cli.BadInput;

/// <summary>
/// The bad-input corpus: every case is run through the real CLI process and must be refused with its exit code, a
/// message naming the field or file and the fix, no stack trace or .NET type names, no huge echo, no planted file
/// contents, every file that was there before unchanged, and no job written to the state store.
/// The cases live beside this file, one class per area (<see cref="BadInputCases"/>).
/// </summary>
[Collection(nameof(BadInputCorpusTests))]
public sealed class BadInputCorpusTests
{
    public static TheoryData<BadInput> Cases() => new(BadInputCases.All());

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Is_refused_clearly_and_changes_nothing(BadInput input)
    {
        var dir = Directory.CreateTempSubdirectory("fedgrains-bad-").FullName;
        try
        {
            foreach (var (path, bytes) in input.Files)
            {
                var full = Path.Combine(dir, path);
                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                await File.WriteAllBytesAsync(full, bytes);
            }
            var before = Snapshot(dir);

            var (code, output) = await ProcessRunner.RunCliAsync(input.Args.Select(a => a.Replace("{dir}", dir)).ToArray());

            var shown = $"{input.Name}: exit {code}\n{output}";
            Assert.True(code == input.ExitCode, $"expected exit {input.ExitCode}. {shown}");
            // The console wraps long messages at its width: phrases are matched with every run of whitespace as one space.
            var flat = Regex.Replace(output, @"\s+", " ");
            foreach (var said in input.MustSay) Assert.True(flat.Contains(said, StringComparison.OrdinalIgnoreCase), $"the message must say '{said}'. {shown}");
            Assert.False(output.Contains("   at ") || output.Contains("Exception") || output.Contains("System."), $"a stack trace or type name leaked. {shown}");
            Assert.True(output.Length < 4000, $"the output is {output.Length} characters: an input is echoed back. {shown}");
            if (input.Secret is { } secret) Assert.False(Regex.Replace(output, @"\s+", "").Contains(secret), $"a site file's contents leaked. {shown}");
            var after = Snapshot(dir);
            foreach (var (path, hash) in before)
                Assert.True(after.TryGetValue(path, out var now) && now == hash, $"{path} was changed or deleted. {shown}");
            foreach (var db in Directory.EnumerateFiles(dir, "fedgrains.db", SearchOption.AllDirectories).Where(p => !before.ContainsKey(p)))
                Assert.True(JobsIn(db) == 0, $"{db} holds a job after a refusal. {shown}");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static Dictionary<string, string> Snapshot(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(p => p, p => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p))));

    private static long JobsIn(string db)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT (SELECT COUNT(*) FROM jobs) + (SELECT COUNT(*) FROM grain_state)";
        try { return (long)command.ExecuteScalar()!; }
        catch (SqliteException) { return 0; } // no schema: nothing stored
    }
}
