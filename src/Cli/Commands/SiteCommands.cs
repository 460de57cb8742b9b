using System.CommandLine;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using Spectre.Console;

namespace FedGrains.Cli.Commands;

/// <summary>
/// `fedgrains site requests|approve|reject`: a site admin's decisions on the jobs that want to train on the site's
/// data, for a site whose silo sets FedGrains:Site:Policy:RequireApproval. The cluster lets only the site's own
/// admin key (role site-admin:SITE) decide; approve and reject show the job's plan and bind the decision to the spec
/// the admin saw.
/// </summary>
internal static class SiteCommands
{
    public static Command Create()
    {
        var command = new Command("site", "A data site's admin: list the jobs waiting for the site's approval, approve or reject one.")
        {
            Requests(), Decide(approve: true), Decide(approve: false),
        };
        foreach (var option in new Option[] { ClusterCommands.Cluster, ClusterCommands.Credential, ClusterTls.Certificate, ClusterTls.Authority })
            command.Add(option);
        return command;
    }

    private static Option<string> Site()
    {
        var site = new Option<string>("--site") { Description = "The site (its FedGrains:Silo:Site); a site-admin key may act only for its own.", Required = true };
        site.Validators.Add(r =>
        {
            if (JobSpecValidator.IdProblem("--site", r.GetValueOrDefault<string>()) is { } problem) r.AddError(problem);
        });
        return site;
    }

    private static Command Requests()
    {
        var site = Site();
        var command = new Command("requests", "The site's approval requests, newest first, with what each job plans on its data and the decision.") { site };
        command.SetAction((r, ct) => ClusterCommands.WithClusterAsync(r, ct, async client =>
        {
            var requests = await client.GetGrain<ISiteApprovalsGrain>(r.GetValue(site)!).ListAsync();
            if (requests.Count == 0)
            {
                Console.WriteLine($"site '{r.GetValue(site)}' has no approval requests (its silo sets FedGrains:Site:Policy:RequireApproval to get them).");
                return 0;
            }
            foreach (var job in requests) Show(job);
            return 0;
        }));
        return command;
    }

    private static Command Decide(bool approve)
    {
        var site = Site();
        var jobArg = JobIds.Argument();
        var reason = new Option<string?>("--reason") { Description = "Why (required to reject; the submitter sees it).", Required = !approve };
        var digest = new Option<string?>("--spec")
        {
            Description = "The spec digest (or its first 12 or more characters) that `site requests` showed: the decision is made only if the job still has that spec (default none: whatever spec the job has now).",
        };
        digest.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } d && (d.Length is < 12 or > 64 || !d.All(char.IsAsciiHexDigitLower)))
                r.AddError("--spec must be 12 to 64 lower-case hex characters of the digest `fedgrains site requests` shows.");
        });
        var command = new Command(approve ? "approve" : "reject",
            approve ? "Approve a job: its gateways on this site may train on the site's data, under the plan shown."
                    : "Reject a job: its gateways on this site never train for it, and the job fails with the reason.") { jobArg, site, digest };
        if (!approve) command.Add(reason);
        command.SetAction((r, ct) => ClusterCommands.WithClusterAsync(r, ct, async client =>
        {
            var (id, siteId) = (r.GetValue(jobArg)!, r.GetValue(site)!);
            var approvals = client.GetGrain<ISiteApprovalsGrain>(siteId);
            // The decision names the spec this listing shows: if the request changed since, the site refuses it.
            if ((await approvals.ListAsync()).FirstOrDefault(j => j.JobId == id) is not { } job)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] site '{siteId}' has no request to approve job '{id}'; `fedgrains site requests --site {siteId}` lists the ones it has.");
                return 4;
            }
            Show(job);
            if (r.GetValue(digest) is { } seen && !job.SpecDigest.StartsWith(seen, StringComparison.Ordinal))
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] job '{id}' at site '{siteId}' now has spec {job.SpecDigest[..12]}, not the {seen[..12]} you gave: nothing was decided; list the requests again and decide on what they show.");
                return 2;
            }
            var decided = await approvals.DecideAsync(id, job.SpecDigest, approve, r.GetValue(reason));
            Console.WriteLine($"job {id} at site {siteId}: {decided.State.ToString().ToLowerInvariant()} by {decided.DecidedBy}");
            return 0;
        }));
        return command;
    }

    private static void Show(JobApproval job)
    {
        var decision = job.State switch
        {
            ApprovalState.Pending => "pending",
            ApprovalState.Approved => $"approved by {job.DecidedBy} at {job.DecidedAt:u}",
            _ => $"rejected by {job.DecidedBy} at {job.DecidedAt:u}: {job.Reason}",
        };
        Console.WriteLine($"job {job.JobId} (spec {job.SpecDigest[..Math.Min(12, job.SpecDigest.Length)]}), submitted by {job.Submitter ?? "(unknown)"} at {job.RequestedAt:u}: {decision}");
        foreach (var plan in job.Plans) Console.WriteLine($"  {plan}");
    }
}
