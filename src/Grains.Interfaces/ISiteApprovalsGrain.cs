using Orleans.Concurrency;

namespace FedGrains.Grains.Interfaces;

/// <summary>
/// The jobs a data site was asked to approve, and its admin's decisions (key: site id), for a site whose policy says
/// FedGrains:Site:Policy:RequireApproval. Kept on the site's silo in the site's own store, beside its ledger. A
/// gateway of the site records the request when it joins a job and trains only once the job, with the spec the admin
/// saw, is approved; the federation waits meanwhile and fails the job when the site rejects it.
/// </summary>
[Alias("fedgrains.site-approvals")]
public interface ISiteApprovalsGrain : IGrainWithStringKey
{
    /// <summary>Records a gateway's request (once per job and gateway) and returns the job's record, sealed over the caller's challenge. Internal to the cluster.</summary>
    [Alias("request")]
    Task<Sealed<JobApproval>> RequestAsync(ApprovalRequest request, string challenge);

    /// <summary>The job's record, or null when no gateway of this site asked (the site requires no approval). Internal to the cluster.</summary>
    [Alias("get"), ReadOnly]
    Task<JobApproval?> GetAsync(string jobId);

    /// <summary>Every request of this site, newest first (a site admin reads its own site's).</summary>
    [Alias("list"), ReadOnly]
    Task<IReadOnlyList<JobApproval>> ListAsync();

    /// <summary>
    /// The site admin's decision on a job, bound to the spec it was shown (<paramref name="specDigest"/>): refused when
    /// the job's spec is not that one. A job may be rejected after it was approved (its gateways stop training); a
    /// rejection is final. <paramref name="reason"/> is required to reject.
    /// </summary>
    [Alias("decide")]
    Task<JobApproval> DecideAsync(string jobId, string specDigest, bool approve, string? reason);
}

public enum ApprovalState { Pending, Approved, Rejected }

/// <summary>What one gateway asks its site to approve: the job's spec (by digest), who submitted it, and its plan on the site's data.</summary>
[GenerateSerializer, Immutable, Alias("fedgrains.approval-request")]
public sealed record ApprovalRequest(
    [property: Id(0)] string JobId,
    [property: Id(1)] string GatewayId,
    [property: Id(2)] string SpecDigest,
    [property: Id(3)] string? Submitter,
    [property: Id(4)] string Plan);

/// <summary>A job's approval record at one site.</summary>
/// <param name="Plans">Per gateway of this site: "gateway 'a': ..." what it plans to run (noise, epsilon, model).</param>
[GenerateSerializer, Immutable, Alias("fedgrains.job-approval")]
public sealed record JobApproval(
    [property: Id(0)] string SiteId,
    [property: Id(1)] string JobId,
    [property: Id(2)] string SpecDigest,
    [property: Id(3)] string? Submitter,
    [property: Id(4)] IReadOnlyList<string> Plans,
    [property: Id(5)] ApprovalState State,
    [property: Id(6)] DateTimeOffset RequestedAt,
    [property: Id(7)] string? DecidedBy = null,
    [property: Id(8)] DateTimeOffset? DecidedAt = null,
    [property: Id(9)] string? Reason = null)
{
    /// <summary>Whether a gateway may train the job whose spec has <paramref name="specDigest"/>.</summary>
    public bool Allows(string specDigest) => State == ApprovalState.Approved && SpecDigest == specDigest;
}
