using System.Globalization;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using FedGrains.Learning.Gateways;
using FedGrains.Learning.Jobs;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Gateway;

/// <summary>
/// The site's policy as a gateway applies it. It comes from the configuration of the silo the gateway runs on (the
/// site's silo), never from the job spec or the caller, so neither the federation nor a client can relax it.
/// </summary>
public sealed class GatewaySitePolicy(IOptions<SiteOptions> site, IOptions<FedGrainsSiloOptions> silo, IGrainFactory grains, AnswerSeals seals)
{
    // A site's silo without a policy section still gets the defaults (noise level "sample" only): training a site's
    // data without noise must be the site's explicit choice. A silo that serves any site applies only what it is given.
    private readonly SitePolicy? policy = (site.Value.Policy ?? (string.IsNullOrWhiteSpace(silo.Value.Site) ? null : new SitePolicyOptions()))?.ToPolicy();

    private bool RequiresApproval => site.Value.Policy?.RequireApproval == true;

    /// <summary>
    /// What the gateway's plan amounts to over the whole job, for the policy and the approval request to judge; null
    /// when this silo has neither. Runs the accountant off the grain's turn, once per check.
    /// </summary>
    internal async Task<PlannedWork?> WorkAsync(JobSpec spec, PlannedGateway planned) =>
        policy is null && !RequiresApproval ? null
            : await AccountantWork.RunAsync(() => PlannedWork.Of(spec, planned.Plan, planned.ExampleShape, planned.Classes));

    /// <summary>
    /// Every rule of this silo's policy the gateway's <paramref name="work"/> breaks (empty without a policy). With
    /// <paramref name="atSubmission"/> the submitter is checked too: only a submission knows who submitted.
    /// </summary>
    internal IReadOnlyList<string> Refusals(string jobId, GatewaySpec gateway, PlannedWork? work, bool atSubmission, string? submitter)
    {
        if (policy is not { } p || work is null) return [];
        return atSubmission ? p.Check(SiteName(gateway), jobId, work, submitter) : p.Check(SiteName(gateway), jobId, work);
    }

    /// <summary>
    /// Refuses (ArgumentException, so a submission fails with it) a plan this silo's site policy does not allow: every
    /// broken rule, with the numbers. Returns the work it judged, for the approval request.
    /// </summary>
    internal async Task<PlannedWork?> EnforceAsync(string jobId, JobSpec spec, PlannedGateway planned, bool atSubmission, string? submitter)
    {
        var work = await WorkAsync(spec, planned);
        var refusals = Refusals(jobId, planned.Gateway, work, atSubmission, submitter);
        if (refusals.Count > 0) throw new ArgumentException(string.Join(" ", refusals));
        return work;
    }

    /// <summary>
    /// When the site approves each job: records this gateway's request with its site (what it plans, for the admin
    /// to judge) and says why it may not train yet, or null once the admin approved this very spec. Null without
    /// the rule. Asked at join and again before every round, so a rule switched on later stops a running job too.
    /// </summary>
    internal async Task<string?> ApprovalRefusalAsync(string jobId, JobSpec spec, PlannedGateway planned, PlannedWork? work, string? submitter)
    {
        if (!RequiresApproval || work is null) return null;
        var sums = work.SecureSumEpsilon is { } siteLevel
            ? string.Create(CultureInfo.InvariantCulture, $"secure aggregation with distributed noise: site-level epsilon {siteLevel:F3} of its sums over the whole job")
            : work.Secure ? "secure aggregation without distributed noise (no site-level epsilon claimed)" : "no secure aggregation (the federation sees each delta)";
        var plan = string.Create(CultureInfo.InvariantCulture,
            $"noise level {work.NoiseLevel}, noise multiplier {work.NoiseMultiplier:G4}, sample rate {work.SampleRate:G4}, planned epsilon {(double.IsFinite(work.Epsilon) ? work.Epsilon.ToString("F3", CultureInfo.InvariantCulture) : "not claimed")} at delta {work.Delta:G3} over the whole job, model {work.ModelKind} with {work.Parameters:N0} parameters, {planned.Examples:N0} examples, {spec.Rounds} rounds, {sums}");
        var siteId = SiteName(planned.Gateway);
        string digest = JobSpecJson.Digest(spec);
        var request = new ApprovalRequest(jobId, planned.Gateway.Id, digest, submitter, plan);
        var challenge = AnswerSeals.NewChallenge();
        // Only the approvals' sealed answer counts: a forged "approved" would let this gateway train what nobody approved.
        var record = seals.Open(SealedPurpose.Approval(siteId, request), challenge,
            await grains.GetGrain<ISiteApprovalsGrain>(siteId).RequestAsync(request, challenge));
        if (record.Allows(digest)) return null;
        // Not approved for this spec: pending (another spec's approval was turned into a new request), or rejected.
        return record.State == ApprovalState.Rejected
            ? $"site '{siteId}' rejected job '{jobId}' ({record.DecidedBy}): {record.Reason}"
            : $"{AwaitingMarker} of site '{siteId}' for job '{jobId}': its admin runs `fedgrains site approve {jobId} --site {siteId}`";
    }

    /// <summary>The start of what a gateway answers while its site's admin has not decided on the job.</summary>
    public const string AwaitingMarker = "awaiting the approval";

    /// <summary>Whether a gateway's refusal is this one (not, say, a rejection whose reason quotes it).</summary>
    public static bool AwaitsApproval(string? refusal) => refusal?.StartsWith(AwaitingMarker, StringComparison.Ordinal) == true;

    // The site is the silo's own name when it has one: that is whose data (and whose policy) this is.
    private string SiteName(GatewaySpec gateway) => string.IsNullOrWhiteSpace(silo.Value.Site) ? gateway.SiteId : silo.Value.Site;
}
