using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Placement;
using FedGrains.Grains.Security;
using FedGrains.Grains.Storage;
using FedGrains.Learning.Jobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Sites;

/// <summary>
/// A site's approval requests and its admin's decisions, on the site's silo and in the site's store (beside its
/// ledger). Who may decide is the access filter's call (the site's own admin); this grain keeps each decision bound to
/// the spec digest the admin was shown, so a job whose spec differs is not covered by it.
/// </summary>
[SiteLedgerPlacementFilter]
public sealed partial class SiteApprovalsGrain(
    [PersistentState("site-approvals", SiteLedgerStorage.Name)] IPersistentState<SiteApprovalsState> approvals,
    IOptions<FedGrainsSiloOptions> silo,
    TimeProvider time,
    AnswerSeals seals,
    ILogger<SiteApprovalsGrain> logger) : Grain, ISiteApprovalsGrain, IIncomingGrainCallFilter
{
    private string SiteId => this.GetPrimaryKeyString();
    private Dictionary<string, JobApproval> Jobs => approvals.State.Jobs;

    /// <summary>Activated away from the site's own silo while it is down (<see cref="SiteAway"/>): answers nothing.</summary>
    private bool away;

    public override async Task OnActivateAsync(CancellationToken cancellationToken) =>
        away = await SiteAway.IsAwayAsync(GrainFactory, seals, SiteId, silo.Value);

    public Task Invoke(IIncomingGrainCallContext context) => away ? throw SiteAway.Refuse(this, SiteId) : context.Invoke();

    public async Task<Sealed<JobApproval>> RequestAsync(ApprovalRequest request, string challenge) =>
        seals.Seal(SealedPurpose.Approval(SiteId, request), challenge, await RecordAsync(request));

    private async Task<JobApproval> RecordAsync(ApprovalRequest request)
    {
        var plan = $"gateway '{request.GatewayId}': {request.Plan}";
        if (Jobs.TryGetValue(request.JobId, out var known))
        {
            // An approval covers the spec it named, for the submitter it named: another spec of the job (a release
            // that serialises specs anew), or another client submitting the job id again (its first submission was
            // never stored, or the store lost it), is asked again. A rejection stays: it is final for the job.
            bool otherSubmitter = request.Submitter is not null && known.Submitter is not null && request.Submitter != known.Submitter;
            if ((known.SpecDigest != request.SpecDigest || otherSubmitter) && known.State != ApprovalState.Rejected)
                known = known with { SpecDigest = request.SpecDigest, Submitter = request.Submitter ?? known.Submitter, Plans = [], State = ApprovalState.Pending, DecidedBy = null, DecidedAt = null };
            else if (known.SpecDigest != request.SpecDigest || known.Plans.Contains(plan))
                return known; // rejected, or asked already
        }
        var updated = (known ?? new JobApproval(SiteId, request.JobId, request.SpecDigest, request.Submitter, [], ApprovalState.Pending, time.GetUtcNow()))
            with { Plans = [.. (known?.Plans ?? []).Where(p => !p.StartsWith($"gateway '{request.GatewayId}':", StringComparison.Ordinal)), plan] };
        await StoreAsync(updated);
        if (known is null) Requested(logger, SiteId, request.JobId, request.Submitter ?? "(unknown)");
        return updated;
    }

    public Task<JobApproval?> GetAsync(string jobId) => Task.FromResult(Jobs.GetValueOrDefault(jobId));

    public Task<IReadOnlyList<JobApproval>> ListAsync() =>
        Task.FromResult<IReadOnlyList<JobApproval>>(Jobs.Values.OrderByDescending(j => j.RequestedAt).ToArray());

    public async Task<JobApproval> DecideAsync(string jobId, string specDigest, bool approve, string? reason)
    {
        // Checked before anything is echoed: a client that writes the protocol itself is not held to the CLI's checks.
        if (JobSpecValidator.IdProblem("job", jobId) is { } badId) throw new ArgumentException(badId);
        if (reason?.Length > MaxReasonLength)
            throw new ArgumentException($"the reason is {reason.Length:N0} characters; give at most {MaxReasonLength} (the submitter reads it in the job's error).");
        if (reason?.Any(char.IsControl) == true)
            throw new ArgumentException("the reason holds control characters (a line break, an escape sequence); give it as one line of plain text.");
        if (!Jobs.TryGetValue(jobId, out var job))
            throw new ArgumentException($"site '{SiteId}' has no request to approve job '{jobId}'; `fedgrains site requests --site {SiteId}` lists the ones it has.");
        if (job.SpecDigest != specDigest)
            throw new ArgumentException($"job '{jobId}' at site '{SiteId}' now has spec {Short(job.SpecDigest)}, not the {Short(specDigest ?? "")} that was shown; list the requests again and decide on what they show.");
        if (!approve && string.IsNullOrWhiteSpace(reason))
            throw new ArgumentException("a rejection needs a reason (--reason TEXT): the submitter sees it.");
        if (job.State == ApprovalState.Rejected)
            throw new ArgumentException($"job '{jobId}' was rejected by site '{SiteId}' ({job.DecidedBy}, {job.DecidedAt:u}: {job.Reason}); a rejection is final: the job can be submitted again under a new id.");
        if (approve && job.State == ApprovalState.Approved) return job;
        var decided = job with
        {
            State = approve ? ApprovalState.Approved : ApprovalState.Rejected,
            DecidedBy = CallerContext.Current?.KeyId ?? "(unknown)",
            DecidedAt = time.GetUtcNow(),
            Reason = approve ? null : reason!.Trim(),
        };
        await StoreAsync(decided);
        Decided(logger, SiteId, jobId, decided.State.ToString(), decided.DecidedBy!, decided.Reason ?? "");
        return decided;
    }

    private async Task StoreAsync(JobApproval job)
    {
        var before = Jobs.GetValueOrDefault(job.JobId);
        Jobs[job.JobId] = job;
        try { await approvals.WriteDurablyAsync(this, time); }
        catch
        {
            // Unknown whether the store took it: forget the copy in memory; the next activation reads the store.
            if (before is null) Jobs.Remove(job.JobId); else Jobs[job.JobId] = before;
            throw;
        }
    }

    public const int MaxReasonLength = 1000;

    internal static string Short(string digest) => digest.Length > 12 ? digest[..12] : digest;

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Site {SiteId}: job {JobId} of {Submitter} awaits the site admin's approval")]
    private static partial void Requested(ILogger logger, string siteId, string jobId, string submitter);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Site {SiteId}: job {JobId} {Decision} by {DecidedBy} {Reason}")]
    private static partial void Decided(ILogger logger, string siteId, string jobId, string decision, string decidedBy, string reason);
}

[GenerateSerializer, Alias("fedgrains.site-approvals-state")]
public sealed class SiteApprovalsState
{
    [Id(0)] public Dictionary<string, JobApproval> Jobs { get; set; } = [];
}
