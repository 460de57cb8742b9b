using FedGrains.Grains.Hosting;
using FedGrains.Learning.Gateways;
using FedGrains.Learning.Jobs;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Gateway;

/// <summary>
/// The site's policy as a gateway applies it. It comes from the configuration of the silo the gateway runs on (the
/// site's silo), never from the job spec or the caller, so neither the federation nor a client can relax it.
/// </summary>
public sealed class GatewaySitePolicy(IOptions<SiteOptions> site, IOptions<FedGrainsSiloOptions> silo)
{
    // A site's silo without a policy section still gets the defaults (noise level "sample" only): training a site's
    // data without noise must be the site's explicit choice. A silo that serves any site applies only what it is given.
    private readonly SitePolicy? policy = (site.Value.Policy ?? (string.IsNullOrWhiteSpace(silo.Value.Site) ? null : new SitePolicyOptions()))?.ToPolicy();

    /// <summary>
    /// Every rule of this silo's policy the gateway's plan breaks (empty without a policy). With
    /// <paramref name="atSubmission"/> the submitter is checked too: only a submission knows who submitted.
    /// Runs the accountant off the grain's turn.
    /// </summary>
    public async Task<IReadOnlyList<string>> RefusalsAsync(string jobId, JobSpec spec, GatewaySpec gateway, LocalPlan plan,
        int[] exampleShape, int classes, bool atSubmission, string? submitter)
    {
        if (policy is not { } p) return [];
        // The site is the silo's own name when it has one: that is whose data (and whose policy) this is.
        var siteName = string.IsNullOrWhiteSpace(silo.Value.Site) ? gateway.SiteId : silo.Value.Site;
        var work = await AccountantWork.RunAsync(() => PlannedWork.Of(spec, plan, exampleShape, classes));
        return atSubmission ? p.Check(siteName, jobId, work, submitter) : p.Check(siteName, jobId, work);
    }

    /// <summary>Refuses (ArgumentException, so a submission fails with it) a plan this silo's site policy does not allow: every broken rule, with the numbers.</summary>
    internal async Task EnforceAsync(string jobId, JobSpec spec, PlannedGateway planned, bool atSubmission, string? submitter)
    {
        var refusals = await RefusalsAsync(jobId, spec, planned.Gateway, planned.Plan, planned.ExampleShape, planned.Classes, atSubmission, submitter);
        if (refusals.Count > 0) throw new ArgumentException(string.Join(" ", refusals));
    }
}
