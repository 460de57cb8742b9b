using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Storage;
using FedGrains.Learning.Privacy;

namespace FedGrains.Grains.Sites;

/// <summary>A site ledger's entries as the hash chain sees them, and what the ledger says when its chain breaks.</summary>
internal static class SiteLedgerIntegrity
{
    public static LedgerEntry ToEntry(SiteSpend s) => new(s.JobId, s.GatewayId, s.Round, s.ModelVersion, s.Charges, s.RecordedAt.UtcTicks);

    public static IReadOnlyList<LedgerEntry> Entries(SiteLedgerState state) => state.Entries.Select(ToEntry).ToArray();

    /// <summary>Why the ledger refuses: where its chain breaks (entries counted from 1).</summary>
    public static string Altered(string siteId, LedgerBreak at) =>
        $"the privacy ledger of site {siteId} is altered at entry {at.Index + 1} " +
        (at.JobId is null ? "(a hash without its entry: entries were removed)" : $"(job {at.JobId} round {at.Round})") +
        ": restore it from a backup; FedGrains will not spend or report from an altered ledger";

    /// <summary>Why the ledger refuses: the site directory lists the site, so it recorded spends, and its record is gone.</summary>
    public static string Missing(string siteId, StoreLocation store) =>
        store.Missing($"the privacy ledger of site {siteId}", "the site directory lists the site (it registers after its first spend is stored)") +
        " FedGrains will not spend or report from a ledger it lost.";

    /// <summary>Why the ledger refuses: its stored bytes are not a ledger (never read as an empty one).</summary>
    public static string Unreadable(string siteId, string why) =>
        $"the privacy ledger of site {siteId} is altered: its stored record cannot be read ({why}): restore it from a backup; FedGrains will not spend or report from an altered ledger";
}
