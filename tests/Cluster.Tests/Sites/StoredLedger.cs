using Microsoft.Data.Sqlite;

namespace FedGrains.Cluster.Tests.Sites;

/// <summary>A site ledger's stored bytes in a SQLite store, read and rewritten as someone with access to the file could.</summary>
internal static class StoredLedger
{
    private const string Where = "grain_type = 'site-ledger' AND grain_id LIKE '%/' || $site";

    public static byte[]? Read(string databasePath, string site)
    {
        using var connection = Open(databasePath);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT data FROM grain_state WHERE {Where}";
        command.Parameters.AddWithValue("$site", site);
        return command.ExecuteScalar() as byte[];
    }

    public static void Write(string databasePath, string site, byte[] data)
    {
        using var connection = Open(databasePath);
        using var command = connection.CreateCommand();
        command.CommandText = $"UPDATE grain_state SET data = $data WHERE {Where}";
        command.Parameters.AddWithValue("$site", site);
        command.Parameters.AddWithValue("$data", data);
        Assert.Equal(1, command.ExecuteNonQuery());
    }

    /// <summary>
    /// The ledger with the <paramref name="occurrence"/>-th stored copy of <paramref name="from"/> (a double, as the
    /// binary serializer stores it: 8 bytes little-endian) replaced by <paramref name="to"/>.
    /// </summary>
    public static byte[] WithDoubleReplaced(byte[] data, double from, double to, int occurrence)
    {
        var needle = BitConverter.GetBytes(from);
        int at = -1;
        for (int seen = 0; seen < occurrence; seen++)
        {
            int start = at + 1;
            int found = data.AsSpan(start).IndexOf(needle);
            Assert.True(found >= 0, $"the stored ledger holds fewer than {occurrence} copies of {from:R}");
            at = start + found;
        }
        var copy = data.ToArray();
        BitConverter.GetBytes(to).CopyTo(copy, at);
        return copy;
    }

    private static SqliteConnection Open(string databasePath)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }
}
