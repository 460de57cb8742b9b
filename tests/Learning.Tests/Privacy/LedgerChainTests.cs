using System.Security.Cryptography;
using System.Text;
using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Tests.Privacy;

public sealed class LedgerChainTests
{
    private const string Site = "hospital-a";

    private static readonly LedgerEntry[] Entries =
    [
        new("job-1", "a", 1, 0, [new PrivacyCharge(100.0 / 1333, 1.2345678901234567, 14)], 638_000_000_000_000_001),
        new("job-1", "a", 2, 1, [new PrivacyCharge(100.0 / 1333, 1.2345678901234567, 14), new PrivacyCharge(1, 50, 1, Mechanism.NoisedMetric)], 638_000_000_000_000_002),
        new("job-2", "b", 1, 0, [new PrivacyCharge(0.1, 0, 10)], 638_000_000_000_000_003),
        new("job-2", "b", 2, 1, [new PrivacyCharge(0.1, 0.9, 10, Mechanism.UpdateDp)], 638_000_000_000_000_004),
    ];

    /// <summary>An independent spelling of the canonical bytes: every string here is shorter than 128 bytes, so its length prefix is one byte.</summary>
    private static byte[] NaiveHash(byte[] previous, LedgerEntry e)
    {
        var bytes = new List<byte>(previous);
        void Text(string s) { var b = Encoding.UTF8.GetBytes(s); bytes.Add((byte)b.Length); bytes.AddRange(b); }
        Text("fedgrains.site-ledger-entry/1");
        Text(e.JobId);
        Text(e.GatewayId);
        bytes.AddRange(BitConverter.GetBytes(e.Round));
        bytes.AddRange(BitConverter.GetBytes(e.ModelVersion));
        bytes.AddRange(BitConverter.GetBytes(e.Charges.Count));
        foreach (var c in e.Charges)
        {
            Text(c.SampleRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            Text(c.NoiseMultiplier.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            bytes.AddRange(BitConverter.GetBytes(c.Steps));
            Text(c.Mechanism.ToString());
        }
        bytes.AddRange(BitConverter.GetBytes(e.RecordedAtUtcTicks));
        return SHA256.HashData(bytes.ToArray());
    }

    [Fact]
    public void Each_hash_is_sha256_of_the_previous_hash_and_the_entry_from_the_sha256_of_the_site_id()
    {
        Assert.True(BitConverter.IsLittleEndian);
        var previous = SHA256.HashData(Encoding.UTF8.GetBytes(Site));
        Assert.Equal(previous, LedgerChain.Genesis(Site));
        var hashes = LedgerChain.Seal(Site, Entries);
        for (int i = 0; i < Entries.Length; i++)
        {
            previous = NaiveHash(previous, Entries[i]);
            Assert.Equal(previous, hashes[i]);
        }
    }

    [Fact]
    public void A_sealed_ledger_and_an_empty_one_verify()
    {
        Assert.Null(LedgerChain.Verify(Site, Entries, LedgerChain.Seal(Site, Entries)));
        Assert.Null(LedgerChain.Verify(Site, [], []));
    }

    [Fact]
    public void Another_sites_chain_does_not_verify()
    {
        Assert.Equal(new LedgerBreak(0, "job-1", 1), LedgerChain.Verify("hospital-b", Entries, LedgerChain.Seal(Site, Entries)));
    }

    public static TheoryData<string> Fields => ["job", "gateway", "round", "model version", "sample rate", "noise multiplier", "steps", "mechanism", "recorded at", "charge removed", "charge added"];

    private static LedgerEntry Alter(LedgerEntry e, string field)
    {
        var c = e.Charges[0];
        IReadOnlyList<PrivacyCharge> With(PrivacyCharge changed) => [changed, .. e.Charges.Skip(1)];
        return field switch
        {
            "job" => e with { JobId = e.JobId + "x" },
            "gateway" => e with { GatewayId = "z" },
            "round" => e with { Round = e.Round + 1 },
            "model version" => e with { ModelVersion = e.ModelVersion + 1 },
            // The smallest change a double can take: round-trip formatting must keep it.
            "sample rate" => e with { Charges = With(c with { SampleRate = Math.BitIncrement(c.SampleRate) }) },
            "noise multiplier" => e with { Charges = With(c with { NoiseMultiplier = Math.BitIncrement(c.NoiseMultiplier) }) },
            "steps" => e with { Charges = With(c with { Steps = c.Steps - 1 }) },
            "mechanism" => e with { Charges = With(c with { Mechanism = Mechanism.CentralDp }) },
            "recorded at" => e with { RecordedAtUtcTicks = e.RecordedAtUtcTicks + 1 },
            "charge removed" => e with { Charges = e.Charges.Take(1).ToArray() },
            "charge added" => e with { Charges = [.. e.Charges, new PrivacyCharge(1, 50, 1, Mechanism.NoisedMetric)] },
            _ => throw new ArgumentException(field),
        };
    }

    [Theory, MemberData(nameof(Fields))]
    public void Altering_any_field_of_an_entry_breaks_the_chain_at_that_entry(string field)
    {
        var hashes = LedgerChain.Seal(Site, Entries);
        var altered = Entries.ToArray();
        altered[1] = Alter(altered[1], field);
        if (field == "charge removed") Assert.NotEqual(Entries[1].Charges.Count, altered[1].Charges.Count);

        Assert.Equal(new LedgerBreak(1, altered[1].JobId, altered[1].Round), LedgerChain.Verify(Site, altered, hashes));
    }

    [Fact]
    public void Altering_a_stored_hash_breaks_the_chain_there()
    {
        var hashes = LedgerChain.Seal(Site, Entries).Select(h => h.ToArray()).ToArray();
        hashes[2][31] ^= 1;
        Assert.Equal(new LedgerBreak(2, "job-2", 1), LedgerChain.Verify(Site, Entries, hashes));
    }

    [Fact]
    public void Deleting_an_entry_with_its_hash_breaks_the_chain_at_the_next_entry()
    {
        var hashes = LedgerChain.Seal(Site, Entries).ToList();
        var entries = Entries.ToList();
        entries.RemoveAt(1);
        hashes.RemoveAt(1);
        Assert.Equal(new LedgerBreak(1, "job-2", 1), LedgerChain.Verify(Site, entries, hashes));
    }

    [Fact]
    public void Deleting_an_entry_but_not_its_hash_or_a_hash_but_not_its_entry_breaks_the_chain()
    {
        var hashes = LedgerChain.Seal(Site, Entries);
        Assert.Equal(new LedgerBreak(3, null, null), LedgerChain.Verify(Site, Entries[..3], hashes));
        Assert.Equal(new LedgerBreak(3, "job-2", 2), LedgerChain.Verify(Site, Entries, hashes.Take(3).ToArray()));
    }

    [Fact]
    public void Reordering_entries_breaks_the_chain_at_the_first_moved_entry()
    {
        var hashes = LedgerChain.Seal(Site, Entries);
        LedgerEntry[] swapped = [Entries[0], Entries[2], Entries[1], Entries[3]];
        Assert.Equal(new LedgerBreak(1, "job-2", 1), LedgerChain.Verify(Site, swapped, hashes));
        Assert.Equal(new LedgerBreak(1, "job-2", 1), LedgerChain.Verify(Site, swapped, [hashes[0], hashes[2], hashes[1], hashes[3]]));
    }

    [Fact]
    public void Inserting_an_entry_breaks_the_chain_at_it_whatever_hash_it_carries()
    {
        var hashes = LedgerChain.Seal(Site, Entries);
        var forged = Entries[0] with { Round = 9 };
        LedgerEntry[] entries = [Entries[0], forged, .. Entries[1..]];
        // Neither a copied hash nor one chained from the genesis (as if it were first) passes.
        foreach (var guess in new[] { hashes[0], LedgerChain.Next(LedgerChain.Genesis(Site), forged) })
            Assert.Equal(new LedgerBreak(1, "job-1", 9), LedgerChain.Verify(Site, entries, [hashes[0], guess, .. hashes.Skip(1)]));
    }

    [Fact]
    public void The_canonical_bytes_do_not_depend_on_the_culture()
    {
        var before = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            var invariant = LedgerChain.Canonical(Entries[0]);
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            Assert.Equal(invariant, LedgerChain.Canonical(Entries[0]));
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = before;
        }
    }
}
