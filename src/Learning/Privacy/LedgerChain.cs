using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FedGrains.Learning.Privacy;

/// <summary>
/// A hash chain over a site's ledger entries, so that altering, removing, inserting or reordering a stored entry is
/// detected when the ledger is read. Each entry's hash is SHA-256(previous hash || canonical bytes of the entry); the
/// genesis "previous hash" is SHA-256 of the site id, so one site's chain cannot pass as another's.
/// </summary>
/// <remarks>
/// The chain is unkeyed: it catches edits made without recomputing the hashes (a hand-edited or partly corrupted
/// store, a restored row of another ledger), not a writer who recomputes the whole chain. It also cannot tell a
/// ledger whose newest entries were cut off together with their hashes from a shorter one.
/// </remarks>
public static class LedgerChain
{
    /// <summary>Bytes of a SHA-256 hash.</summary>
    public const int HashBytes = 32;

    /// <summary>The hash before the first entry: SHA-256 of the site id (UTF-8).</summary>
    public static byte[] Genesis(string siteId) => SHA256.HashData(Encoding.UTF8.GetBytes(siteId));

    /// <summary>The hash of <paramref name="entry"/> following <paramref name="previous"/>.</summary>
    public static byte[] Next(ReadOnlySpan<byte> previous, LedgerEntry entry)
    {
        var canonical = Canonical(entry);
        var input = new byte[previous.Length + canonical.Length];
        previous.CopyTo(input);
        canonical.CopyTo(input, previous.Length);
        return SHA256.HashData(input);
    }

    /// <summary>Every entry's hash, in order, starting from the site's genesis.</summary>
    public static IReadOnlyList<byte[]> Seal(string siteId, IEnumerable<LedgerEntry> entries)
    {
        var hashes = new List<byte[]>();
        var previous = Genesis(siteId);
        foreach (var entry in entries)
        {
            previous = Next(previous, entry);
            hashes.Add(previous);
        }
        return hashes;
    }

    /// <summary>
    /// Null when every stored hash is the one recomputed from the entries before it; else the first entry where the
    /// chain breaks. More hashes than entries breaks at the first hash without an entry; fewer at the first entry
    /// without a hash.
    /// </summary>
    public static LedgerBreak? Verify(string siteId, IReadOnlyList<LedgerEntry> entries, IReadOnlyList<byte[]> hashes)
    {
        var previous = Genesis(siteId);
        for (int i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (i >= hashes.Count) return new LedgerBreak(i, entry.JobId, entry.Round);
            previous = Next(previous, entry);
            if (!CryptographicOperations.FixedTimeEquals(previous, hashes[i])) return new LedgerBreak(i, entry.JobId, entry.Round);
        }
        return hashes.Count > entries.Count ? new LedgerBreak(entries.Count, null, null) : null;
    }

    /// <summary>
    /// The entry as bytes that mean one thing only: strings length-prefixed, integers little-endian, every double in
    /// round-trip invariant text (so equal values hash equally whatever the culture, and no bit of a value is lost).
    /// </summary>
    public static byte[] Canonical(LedgerEntry entry)
    {
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream, Encoding.UTF8);
        // BinaryWriter writes strings with a length prefix and integers little-endian on every platform.
        writer.Write("fedgrains.site-ledger-entry/1");
        writer.Write(entry.JobId);
        writer.Write(entry.GatewayId);
        writer.Write(entry.Round);
        writer.Write(entry.ModelVersion);
        writer.Write(entry.Charges.Count);
        foreach (var c in entry.Charges)
        {
            writer.Write(c.SampleRate.ToString("R", CultureInfo.InvariantCulture));
            writer.Write(c.NoiseMultiplier.ToString("R", CultureInfo.InvariantCulture));
            writer.Write(c.Steps);
            writer.Write(c.Mechanism.ToString());
        }
        writer.Write(entry.RecordedAtUtcTicks);
        writer.Flush();
        return stream.ToArray();
    }
}
