using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;

namespace FedGrains.Grains.Federation;

/// <summary>Sends a job to its gateways and asks their data sites whether it fits.</summary>
internal static class JobAdmission
{
    /// <summary>
    /// Sends the job to every gateway once (each stores it and its calibrated plan). With
    /// <paramref name="checkSiteBudgets"/> (at submission) it then refuses the job before anything is stored when, for
    /// some site, what its gateways plan to run in this job composed with what the site already spent would cross the
    /// site's lifetime budget.
    /// </summary>
    public static async Task JoinAsync(IGrainFactory grains, string jobId, JobSpec spec, bool checkSiteBudgets)
    {
        var plans = await Task.WhenAll(spec.ResolveGateways().Select(async g =>
            (g.SiteId, Plan: await grains.GetGrain<IGatewayGrain>(IGatewayGrain.Key(jobId, g.Id)).JoinAsync(spec))));
        if (!checkSiteBudgets) return;
        var refusals = await Task.WhenAll(plans.GroupBy(p => p.SiteId).Select(site =>
            grains.GetGrain<ISiteLedgerGrain>(site.Key).CheckAsync(jobId, site.SelectMany(p => p.Plan).ToArray())));
        if (refusals.OfType<string>().ToArray() is { Length: > 0 } reasons)
            throw new ArgumentException($"job '{jobId}' refused up front, nothing was stored: " + string.Join(" ", reasons));
    }
}
