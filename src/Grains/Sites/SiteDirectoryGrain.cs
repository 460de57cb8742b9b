using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using FedGrains.Grains.Storage;

namespace FedGrains.Grains.Sites;

/// <summary>The ids of every site with a ledger, so a report can find them all, and of the sites with a silo of their own.</summary>
public sealed class SiteDirectoryGrain(
    [PersistentState("site-directory", "fedgrains")] IPersistentState<SiteDirectoryState> directory,
    AnswerSeals seals) : Grain, ISiteDirectoryGrain
{
    public async Task RegisterAsync(string siteId)
    {
        if (directory.State.Sites.Add(siteId)) await directory.WriteDurablyAsync(this);
    }

    public Task<Sealed<bool>> IsListedAsync(string siteId, string challenge) =>
        Task.FromResult(seals.Seal(SealedPurpose.Listed(siteId), challenge, directory.State.Sites.Contains(siteId)));

    public async Task RegisterOwnSiloAsync(string siteId)
    {
        if (directory.State.SitesWithOwnSilo.Add(siteId)) await directory.WriteDurablyAsync(this);
    }

    public Task<Sealed<bool>> HasOwnSiloAsync(string siteId, string challenge) =>
        Task.FromResult(seals.Seal(SealedPurpose.OwnSilo(siteId), challenge, directory.State.SitesWithOwnSilo.Contains(siteId)));

    /// <summary>Every site with a ledger; for a site admin, only its own.</summary>
    public Task<IReadOnlyList<string>> ListAsync() =>
        Task.FromResult<IReadOnlyList<string>>(directory.State.Sites
            .Where(s => CallerContext.Current is not { Role: ClientRole.SiteAdmin } admin || admin.Site == s)
            .Order(StringComparer.Ordinal).ToArray());
}

[GenerateSerializer, Alias("fedgrains.site-directory-state")]
public sealed class SiteDirectoryState
{
    [Id(0)] public HashSet<string> Sites { get; set; } = [];

    /// <summary>Sites that have run a silo of their own: their ledgers and approvals are kept there, never elsewhere.</summary>
    [Id(1)] public HashSet<string> SitesWithOwnSilo { get; set; } = [];
}
