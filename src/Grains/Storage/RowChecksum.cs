using System.Buffers.Binary;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;

namespace FedGrains.Grains.Storage;

/// <summary>
/// SHA-256 over a stored row's key, version and bytes. SQLite checks its b-tree structure but not the bytes inside a
/// record: a damaged page in the middle of a blob (a model's weights, a ledger) passes <c>PRAGMA quick_check</c> and
/// would read back as different numbers. Each field is length-prefixed so no two rows can hash alike by shifting bytes.
/// </summary>
internal static class RowChecksum
{
    public static byte[] Grain(string grainType, string grainId, string etag, byte[] data) => Of("grain_state", grainType, grainId, etag, data);

    public static byte[] Job(string jobId, string state, string updatedAt) => Of("jobs", jobId, state, updatedAt);

    /// <summary>Whether column <paramref name="ordinal"/> holds <paramref name="expected"/> (a missing checksum never matches).</summary>
    public static bool Matches(DbDataReader reader, int ordinal, byte[] expected) =>
        !reader.IsDBNull(ordinal) && reader.GetValue(ordinal) is byte[] stored && stored.AsSpan().SequenceEqual(expected);

    private static byte[] Of(params ReadOnlySpan<object> fields)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[8];
        foreach (var field in fields)
        {
            var bytes = field as byte[] ?? Encoding.UTF8.GetBytes((string)field);
            BinaryPrimitives.WriteInt64LittleEndian(length, bytes.Length);
            hash.AppendData(length);
            hash.AppendData(bytes);
        }
        return hash.GetHashAndReset();
    }
}
