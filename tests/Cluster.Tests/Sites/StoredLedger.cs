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

    /// <summary>
    /// Rewrites the ledger's bytes and, as someone who knows the store's format would, the row's checksum with them
    /// (an unkeyed SHA-256: the checksum catches damage, the ledger's hash chain has to catch the edit).
    /// </summary>
    public static void Write(string databasePath, string site, byte[] data)
    {
        using var connection = Open(databasePath);
        using var read = connection.CreateCommand();
        read.CommandText = $"SELECT grain_type, grain_id, etag FROM grain_state WHERE {Where}";
        read.Parameters.AddWithValue("$site", site);
        string type, id, etag;
        using (var reader = read.ExecuteReader())
        {
            Assert.True(reader.Read());
            (type, id, etag) = (reader.GetString(0), reader.GetString(1), reader.GetString(2));
        }
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE grain_state SET data = $data, checksum = $checksum WHERE grain_type = $type AND grain_id = $id";
        command.Parameters.AddWithValue("$type", type);
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$data", data);
        command.Parameters.AddWithValue("$checksum", FedGrains.Grains.Storage.RowChecksum.Grain(type, id, etag, data));
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
