using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using Orleans.Runtime;

namespace FedGrains.Grains.Federation;

/// <summary>
/// Holds a job's rounds until every site whose policy asks for it (FedGrains:Site:Policy:RequireApproval) has
/// approved the job, and fails the job when one rejects it. Its gateways recorded the requests when they joined.
/// This only spares the other sites' budgets while one site decides: each gateway checks its site's decision itself
/// before it trains, whatever the federation does.
/// </summary>
internal sealed class ApprovalGate(IRoundHost host, TimeProvider time)
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(2);
    private DateTimeOffset nextCheck;

    /// <summary>What the job waits for (shown in its status), or null when it waits for nothing.</summary>
    public string? Waiting { get; private set; }

    /// <summary>True when rounds may run; false while a site has not approved the job (asked again every two seconds).</summary>
    public async Task<bool> OpenAsync(JobSpec spec)
    {
        if (host.State.SitesApproved) return true;
        var now = time.GetUtcNow();
        if (now < nextCheck) return false;
        nextCheck = now + Poll;
        string digest = JobSpecJson.Digest(spec);
        var sites = await Task.WhenAll(spec.ResolveGateways().Select(g => g.SiteId).Distinct().Select(async site =>
        {
            try { return (Site: site, Record: await host.GrainFactory.GetGrain<ISiteApprovalsGrain>(site).GetAsync(host.JobId), Unreachable: false); }
            catch (Exception e) when (e is OrleansException or TimeoutException) { return (Site: site, Record: (JobApproval?)null, Unreachable: true); }
        }));
        if (sites.FirstOrDefault(s => s.Record?.State == ApprovalState.Rejected) is { Record: { } rejected })
        {
            await host.FailAsync($"site '{rejected.SiteId}' rejected the job ({rejected.DecidedBy}, {rejected.DecidedAt:u}): {rejected.Reason}");
            return false;
        }
        var waiting = sites.Where(s => s.Unreachable || s.Record is { } r && !r.Allows(digest)).Select(s => s.Unreachable ? $"{s.Site} (unreachable)" : s.Site).ToArray();
        if (waiting.Length > 0)
        {
            Waiting = $"awaiting the approval of site(s) {string.Join(", ", waiting)}: each site's admin runs `fedgrains site approve {host.JobId} --site SITE`";
            return false;
        }
        Waiting = null;
        host.State.SitesApproved = true; // persisted with the first round
        return true;
    }

    /// <summary>A gateway answered that its site has not approved the job (a rule switched on, or a decision reversed): ask the sites again.</summary>
    public void Close() => host.State.SitesApproved = false;
}
