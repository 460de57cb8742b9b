using System.Globalization;
using FedGrains.Grains.Gateway;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Placement;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Data;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.Training;
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
    public static async Task<FederationState> InitialStateAsync(DatasetCache data, JobSpec spec, byte[]? initialWeights, DateTimeOffset now)
    {
        CheckInitialWeights(spec, initialWeights);
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
        var (weights, layout) = await Task.Run(() =>
        {
            var (start, hash) = GlobalModel.Initial(spec.Model, dataset.ExampleShape, dataset.Classes, spec.Seed, initialWeights);
            // Version 0 may be trained further on the data declared public: no site's data, so no site's privacy.
            return (dataset.Public is { } open ? PublicPretraining.Run(spec.PublicPretraining, spec.Model, open, dataset.Classes, start, spec.Seed) : start, hash);
        });
        return FederationState.Start(spec, WeightBuffer.Encode(weights, WeightKind.Weights, 0, layout), layout, now);
    }

    /// <summary>The uploaded file is the one the spec pins (its SHA-256), and is there exactly when the spec names one.</summary>
    private static void CheckInitialWeights(JobSpec spec, byte[]? initialWeights)
    {
        if (spec.Model.InitialWeights is null)
        {
            if (initialWeights is not null) throw new ArgumentException("the submission carries initial weights, but its spec names no model.initial_weights; name the file in the spec.");
            return;
        }
        if (initialWeights is null)
            throw new ArgumentException("model.initial_weights names a file, but the submission carries none: submit with `fedgrains run` or `submit`, which upload it.");
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(initialWeights));
        if (sha != spec.Model.InitialWeightsSha256)
            throw new ArgumentException($"the uploaded initial weights have SHA-256 {sha}, but the spec pins {spec.Model.InitialWeightsSha256}: the file changed after the spec was made, or was altered on the way; submit again.");
    }

    /// <summary>
    /// Refuses the job before anything is stored when, for some site, what its gateways plan to run in this job
    /// composed with what the site already spent would cross the site's lifetime budget; else every gateway joins
    /// (stores the job and its calibrated plan). Every site's refusal is told, also when another site is offline.
    /// </summary>
    public static async Task AdmitAsync(IGrainFactory grains, string jobId, JobSpec spec)
    {
        var asked = spec.ResolveGateways().Select(g =>
            (g.SiteId, Plan: SiteCalls.CallAsync(g.SiteId, () => Gateway(grains, jobId, g.Id).PlanAsync(spec)))).ToArray();
        try { await Task.WhenAll(asked.Select(a => a.Plan)); }
        catch (Exception) { } // every gateway's outcome is read below, not only the first failure's
        // A plan cancelled (its silo stopping mid-call) is an outage like an offline site: worth a retry, not a stack trace.
        var failures = asked.Select(a => a.Plan.IsCanceled
            ? new SiteOfflineException(a.SiteId)
            : a.Plan.Exception?.InnerException).OfType<Exception>().ToArray();
        // A site's refusal is final and says what to change, so it is told even when another site is offline (a
        // retry after starting that silo would only be refused again); an offline site alone is worth a retry.
        if (failures.OfType<ArgumentException>().Select(e => e.Message).Distinct().ToArray() is { Length: > 0 } refused)
            throw new ArgumentException(string.Join(" ", refused));
        if (failures.FirstOrDefault(e => e is not SiteOfflineException) is { } other)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(other);
        if (failures.Select(e => e.Message).Distinct().ToArray() is { Length: > 0 } offline)
            throw new InvalidOperationException($"job '{jobId}' refused up front, nothing was stored: {string.Join("; ", offline)}; start the site's silo and submit again.");
        var plans = asked.Select(a => (a.SiteId, Plan: a.Plan.Result)).ToArray();
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
