using System.Globalization;
using FedGrains.Grains.Gateway;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Placement;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Data;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using Microsoft.Extensions.Logging;

namespace FedGrains.Grains.Federation;

/// <summary>Asks a job's data sites whether it fits, and sends it to its gateways once.</summary>
internal static class JobAdmission
{
    /// <summary>The submitted spec, read strictly and validated; an ArgumentException names every problem.</summary>
    public static JobSpec Read(JobSubmission submission)
    {
        JobSpec spec;
        try { spec = JobSpecJson.Parse(submission.SpecJson, "submitted job spec"); }
        catch (JobSpecException e) { throw new ArgumentException(e.Message); }
        var problems = JobSpecValidator.Problems(spec);
        if (problems.Count > 0) throw new ArgumentException(new JobSpecException(problems).Message);
        return spec;
    }

    /// <summary>
    /// The job's state at its start: model version 0 initialised from the job seed (off the grain's scheduler). It
    /// loads the shared dataset, so a data file that cannot be used (in dataset.data_dir) is refused here as an
    /// ArgumentException, before any gateway joins.
    /// </summary>
    public static async Task<FederationState> InitialStateAsync(DatasetCache data, JobSpec spec, DateTimeOffset now)
    {
        var dataset = await Task.Run(() =>
        {
            try { return data.Dataset(spec); }
            catch (DataFileException e) { throw new ArgumentException($"the job's dataset ({spec.Dataset.Kind}): {e.Message}"); }
        });
        long parameters = ModelSize.Parameters(spec.Model, dataset.ExampleShape, dataset.Classes);
        int cohort = spec.CohortSize == 0 ? spec.ResolveGateways().Count : spec.CohortSize;
        MemoryEstimate.Check(MemoryEstimate.Federation(parameters, cohort),
            string.Create(CultureInfo.InvariantCulture, $"the federation's round ({parameters:N0} parameters, {cohort} deltas held at once)"),
            "make model.hidden (or model.vocabulary) smaller, or the cohort (cohort_size).");
        var (weights, layout) = await Task.Run(() => GlobalModel.Initial(spec.Model, dataset.ExampleShape, dataset.Classes, spec.Seed));
        return FederationState.Start(spec, WeightBuffer.Encode(weights, WeightKind.Weights, 0, layout), layout, now);
    }

    /// <summary>
    /// Refuses the job before anything is stored when, for some site, what its gateways plan to run in this job
    /// composed with what the site already spent would cross the site's lifetime budget; else every gateway joins
    /// (stores the job and its calibrated plan).
    /// </summary>
    public static async Task AdmitAsync(IGrainFactory grains, string jobId, JobSpec spec)
    {
        (string SiteId, IReadOnlyList<Learning.Privacy.PrivacyCharge> Plan)[] plans;
        try
        {
            plans = await Task.WhenAll(spec.ResolveGateways().Select(async g =>
                (g.SiteId, Plan: await SiteCalls.CallAsync(g.SiteId, () => Gateway(grains, jobId, g.Id).PlanAsync(spec)))));
        }
        catch (SiteOfflineException e)
        {
            throw new InvalidOperationException($"job '{jobId}' refused up front, nothing was stored: {e.Message}; start the site's silo and submit again.");
        }
        var refusals = await Task.WhenAll(plans.GroupBy(p => p.SiteId).Select(site =>
            grains.GetGrain<ISiteLedgerGrain>(site.Key).CheckAsync(jobId, site.SelectMany(p => p.Plan).ToArray())));
        if (refusals.OfType<string>().ToArray() is { Length: > 0 } reasons)
            throw new ArgumentException($"job '{jobId}' refused up front, nothing was stored: " + string.Join(" ", reasons));
        await Task.WhenAll(spec.ResolveGateways().Select(g => SiteCalls.CallAsync(g.SiteId, () => Gateway(grains, jobId, g.Id).JoinAsync(spec))));
    }

    /// <summary>
    /// Joins the gateways of a job stored by the first format (which sent the spec with every round); a gateway that
    /// cannot join now is logged and asked again at the next tick. True when every gateway has joined.
    /// </summary>
    public static async Task<bool> JoinStoredJobAsync(IGrainFactory grains, string jobId, JobSpec spec, ILogger logger)
    {
        var joined = await Task.WhenAll(spec.ResolveGateways().Select(async g =>
        {
            try
            {
                await SiteCalls.CallAsync(g.SiteId, () => Gateway(grains, jobId, g.Id).JoinAsync(spec));
                return true;
            }
            catch (Exception e)
            {
                Log.JoinFailed(logger, jobId, g.Id, e.Message);
                return false;
            }
        }));
        return joined.All(j => j);
    }

    private static IGatewayGrain Gateway(IGrainFactory grains, string jobId, string gatewayId) => SiteCalls.Gateway(grains, jobId, gatewayId);
}
