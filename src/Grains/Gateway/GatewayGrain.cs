using System.Diagnostics;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Placement;
using FedGrains.Grains.Security;
using FedGrains.Grains.Storage;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Data;
using FedGrains.Learning.Gateways;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;
using FedGrains.Learning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace FedGrains.Grains.Gateway;

/// <summary>
/// One data site's trainer in one job. Joins once (stores the job and its calibrated plan), then per request checks
/// its budget and the site's, trains off the grain turn, records the spend durably and only then releases the delta.
/// Its ledger and its site's record the same releases (<see cref="ReleaseReconciler"/>).
/// </summary>
[SitePlacementFilter]
public sealed partial class GatewayGrain(
    [PersistentState("gateway", "fedgrains")] IPersistentState<GatewayState> ledger,
    DatasetCache data,
    SiteDatasets datasets,
    TrainingSlots slots,
    IOptions<FedGrainsSiloOptions> options,
    ILocalSiloDetails silo,
    UpdateAuthenticator authenticator,
    INoiseSourceFactory noise,
    GatewaySitePolicy sitePolicy,
    StoreLocation store,
    TimeProvider time,
    AnswerSeals seals,
    SecAggSigning signing,
    ILogger<GatewayGrain> logger) : Grain, IGatewayGrain
{
    private ReleaseReconciler? reconciler;

    private readonly torch.Device device = TorchRuntime.SelectDevice(options.Value.Device);
    /// <summary>The plan of the spec it was built for (reference equality with the stored spec).</summary>
    private (JobSpec Spec, LocalPlan Plan)? cached;

    // Read from the grain's key once, on its scheduler: lambdas that run on the thread pool may use them.
    private string JobId => field ??= this.GetPrimaryKeyString().Split('/', 2)[0];
    private string GatewayId => field ??= this.GetPrimaryKeyString().Split('/', 2)[1];
    private GatewayState State => ledger.State;
    private ReleaseReconciler Reconciler => reconciler ??= new ReleaseReconciler(ledger, GrainFactory, seals, () => JobId, () => GatewayId, DeactivateOnIdle, logger);

    /// <summary>This gateway of <paramref name="spec"/> with its site's data; on a silo that must not run it, deactivates and refuses.</summary>
    private GatewaySpec Resolve(JobSpec spec)
    {
        try { return datasets.Resolve(spec, GatewayId); }
        catch (WrongSiloException e)
        {
            // Moved, not just deactivated: placement runs again with this call's site and picks the site's silo, and
            // the directory then points there. (A deactivated one is activated here again by the next call that a
            // silo's directory cache still routes here.)
            MigrateOnIdle();
            throw new InvalidOperationException(e.Message); // a type every caller can deserialize
        }
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _ = (JobId, GatewayId);
        State.Upgrade(); // written back with the next release
        if (State.Spec is { } spec && spec.Privacy.Accountant != State.Accountant)
            throw new InvalidDataException($"gateway {GatewayId} of job {JobId}: its ledger was kept by the '{State.Accountant}' accountant but its stored job names '{spec.Privacy.Accountant}'; the stored state is inconsistent.");
        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<PrivacyCharge>> PlanAsync(JobSpec spec)
    {
        // Planned only for a job its federation holds no state of: releases here mean that state was lost, not that the job is new.
        if (State.Releases.Count > 0)
            throw new InvalidOperationException(store.Missing($"the state of job '{JobId}'", $"its gateway '{GatewayId}' has already released {State.Releases.Count} update(s) in it, and the job is now being started as new"));
        var planned = await NewPlanAsync(spec);
        // The submitting client, as the access filter established it for the submission this plan is part of.
        await sitePolicy.EnforceAsync(JobId, spec, planned, atSubmission: true, submitter: CallerContext.Current?.KeyId);
        // The secure sums' site-level charge too, so the site's ledger can hold the job to its secure-sum budget up front.
        var sums = PlannedWork.PlannedSecureSumCharge(spec, FedGrains.Learning.Models.ModelSize.Parameters(spec.Model, planned.ExampleShape, planned.Classes));
        return [.. planned.Plan.JobCharges(spec.PlannedParticipations()), .. sums is null ? [] : new[] { sums }];
    }

    public async Task JoinAsync(JobSpec spec)
    {
        if (State.Spec is { } joined && State.Plan is not null)
        {
            if (JobSpecJson.Serialize(joined) == JobSpecJson.Serialize(spec))
            {
                // Joined already. A submission (not the federation's own rejoin) still tells a site that approves each
                // job who asks now: a job id submitted again by another client is not covered by the first's approval.
                if (CallerContext.Current?.KeyId is { } submitter)
                {
                    var again = await NewPlanAsync(spec);
                    await sitePolicy.ApprovalRefusalAsync(JobId, spec, again, await sitePolicy.WorkAsync(spec, again), submitter);
                }
                return;
            }
            if (State.Releases.Count > 0)
                throw new InvalidOperationException($"gateway '{GatewayId}' already trained for job {JobId} under a different spec; pick a new job id.");
        }
        var planned = await NewPlanAsync(spec);
        var work = await sitePolicy.EnforceAsync(JobId, spec, planned, atSubmission: false, submitter: null);
        // A site that approves each job hears of it now, from the submission that joins it: what to judge, and who asked.
        await sitePolicy.ApprovalRefusalAsync(JobId, spec, planned, work, CallerContext.Current?.KeyId);
        (State.Spec, State.Plan, cached) = (spec, new GatewayPlanRecord(planned.Examples, planned.Plan.Settings.NoiseMultiplier), (spec, planned.Plan));
        (State.Accountant, State.Delta, State.TargetEpsilon, State.NoiseLevel) = (spec.Privacy.Accountant, spec.Privacy.Delta, spec.Privacy.TargetEpsilon, spec.Privacy.NoiseLevel);
        State.UpdateNoiseMultiplier = spec.Privacy.LocalUpdateDp.Enabled ? spec.Privacy.LocalUpdateDp.NoiseMultiplier : 0;
        State.SchemaVersion = GatewayState.CurrentSchema;
        await ledger.WriteDurablyAsync(this, time);
    }

    /// <summary>This gateway's plan in <paramref name="spec"/>: its data loaded (how many examples, of what shape and classes), its noise calibrated.</summary>
    private async Task<PlannedGateway> NewPlanAsync(JobSpec spec)
    {
        var gateway = Resolve(spec);
        var (examples, shape, classes) = await Task.Run(() =>
        {
            var x = Examples(spec, gateway).X;
            return ((int)x.shape[0], x.shape.Skip(1).Select(d => (int)d).ToArray(), data.Dataset(spec).Classes);
        });
        var id = GatewayId;
        MemoryEstimate.CheckGateway(spec, spec.Defaults.With(gateway.Overrides), shape, classes, id);
        var plan = await AccountantWork.RunAsync(() =>
        {
            try { return LocalPlan.For(spec.Defaults.With(gateway.Overrides), spec.Privacy, examples, spec.PlannedParticipations(), spec.Personalization.Charge(spec.Model)); }
            catch (ArgumentException e) { throw new ArgumentException($"gateway '{id}': {e.Message}"); }
        });
        return new PlannedGateway(gateway, examples, shape, classes, plan);
    }


    /// <summary>
    /// The gateway's training examples. A site file that cannot be used is refused as an ArgumentException (a type
    /// every caller can deserialize, and which the CLI shows as a refusal) naming this gateway, its site and the file.
    /// </summary>
    private (torch.Tensor X, torch.Tensor Y) Examples(JobSpec spec, GatewaySpec gateway)
    {
        try { return data.GatewayData(spec, gateway, device); }
        catch (DataFileException e)
        {
            var site = gateway.SiteId == gateway.Id ? "" : $" of site '{gateway.SiteId}'";
            throw new ArgumentException($"gateway '{gateway.Id}'{site}: {e.Message}");
        }
    }

    public async Task<GatewayUpdate> TrainAsync(RoundTask task, CancellationToken cancellationToken = default)
    {
        // A job under secure aggregation releases its deltas only masked: asked in the clear (by a federation that
        // should not), the gateway refuses rather than trust the caller.
        if (JoinedSpec(task).Aggregation.Secure.Enabled)
            throw new InvalidOperationException($"job '{JobId}' uses aggregation.secure: gateway '{GatewayId}' releases its delta only masked, in a secure round");
        if (State.LastRelease is { } last && last.Round == task.Sequence && State.LastReleaseModelVersion == task.ModelVersion)
            return last;
        return (await ReleaseAsync(task, cancellationToken)).Update;
    }

    // The federation joins every gateway before its first round, so a gateway without a job lost its state. An
    // InvalidDataException stops the job (where a refusal would only drop this gateway from the round).
    private JobSpec JoinedSpec(RoundTask task) => State.Spec ?? throw new InvalidDataException(store.Missing($"the state of gateway '{GatewayId}' of job '{JobId}'",
        $"it is asked to train (request {task.Sequence}) and the federation joins every gateway before its first round"));

    /// <summary>
    /// Trains one request and records it in both ledgers; the update (with its delta, or why there is none) and the
    /// delta itself. Under secure aggregation the stored update holds no delta: only the caller keeps it, in memory.
    /// </summary>
    /// <param name="siteLevel">A secure round's distributed-noise charge, recorded with the round's others before training.</param>
    private async Task<(GatewayUpdate Update, byte[]? Delta)> ReleaseAsync(RoundTask task, CancellationToken cancellationToken, PrivacyCharge? siteLevel = null)
    {
        var spec = JoinedSpec(task);
        bool secure = spec.Aggregation.Secure.Enabled;
        await Reconciler.EnsureAsync();
        if (Reconciler.Disagreement is { } disagreement) throw new InvalidDataException(disagreement);
        var earlier = State.Releases.FirstOrDefault(r => ReleaseReconciler.Matches(r, task.Sequence, task.ModelVersion));
        if (earlier is { Unreleased: false })
            return (new GatewayUpdate(GatewayId, task.Sequence, null, State.Plan!.Examples, double.NaN, await PrivacyAsync(), 0,
                $"gateway '{GatewayId}' already answered request {task.Sequence} on model version {task.ModelVersion} and no longer holds that update; training again would spend privacy a second time"), null);
        var gateway = Resolve(spec);
        using var activity = Telemetry.Source.StartActivity("gateway.train");
        activity?.SetTag("fedgrains.job", JobId);
        activity?.SetTag("fedgrains.gateway", GatewayId);
        activity?.SetTag("fedgrains.round", task.Sequence);

        using var slot = await slots.AcquireAsync(cancellationToken);
        var stopwatch = Stopwatch.StartNew();
        var (x, y) = await Task.Run(() => Examples(spec, gateway), cancellationToken);
        var local = await JoinedPlanAsync(spec, gateway);
        IReadOnlyList<PrivacyCharge> charges = siteLevel is null ? local.Charges(1) : [.. local.Charges(1), siteLevel];
        int classes = data.Dataset(spec).Classes;
        // A spend both ledgers already hold (adopted: its update never left) is not checked or charged again.
        if ((await SitePolicyRefusalAsync(spec, gateway, local, x) ?? (earlier is null ? await RefusalAsync(spec, gateway, task, local, charges) : null)) is { } reason)
        {
            Log.Refused(logger, JobId, GatewayId, task.Sequence, reason);
            return (new GatewayUpdate(GatewayId, task.Sequence, null, State.Plan!.Examples, double.NaN, await PrivacyAsync(), 0, reason), null);
        }

        byte[] bytes;
        double releasedLoss;
        float[]? localLayers;
        try
        {
            var global = WeightBuffer.Decode(task.GlobalWeights);
            var own = State.LocalLayers;
            (bytes, releasedLoss, localLayers) = await Task.Run(() =>
                GatewayRound.Run(spec, GatewayId, local, x, y, classes, global, task.Sequence, noise, cancellationToken, own), cancellationToken);
        }
        catch when (earlier is null)
        {
            // The site recorded this spend: the gateway's ledger counts it too, though nothing is released.
            await Reconciler.AdoptAsync(new GatewayRelease(task.Sequence, task.ModelVersion, charges, time.GetUtcNow(), Unreleased: true));
            throw;
        }

        // Record the spend before anything leaves this grain: a caller that times out after this point has still
        // received (or may yet receive) a release, so it must be accounted. An adopted spend becomes this release.
        int at = State.Releases.FindIndex(r => ReleaseReconciler.Matches(r, task.Sequence, task.ModelVersion));
        if (at >= 0) State.Releases[at] = State.Releases[at] with { Unreleased = false };
        else State.Releases.Add(new GatewayRelease(task.Sequence, task.ModelVersion, charges, time.GetUtcNow()));
        var privacy = await PrivacyAsync();
        var seconds = stopwatch.Elapsed.TotalSeconds;
        var update = authenticator.Sign(new GatewayUpdate(GatewayId, task.Sequence, secure ? null : bytes, State.Plan!.Examples, releasedLoss, privacy, seconds, null),
            JobId, task.ModelVersion);
        (State.LastRelease, State.LastReleaseModelVersion) = (update, task.ModelVersion);
        if (localLayers is not null) State.LocalLayers = localLayers; // stored with the release that trained them
        try
        {
            // Not stored, not released: a write that fails after retries deactivates this gateway (DurableWrites), so a
            // retry of the round finds the store's ledger, not this one.
            await ledger.WriteDurablyAsync(this, time);
        }
        catch
        {
            // Unknown whether the store took it: the next activation reads the store and adopts the spend from the
            // site's ledger if needed.
            Reconciler.Invalidate();
            throw;
        }

        Telemetry.GatewayTrainingDuration.Record(seconds);
        if (privacy.Epsilon is { } eps) Telemetry.EpsilonSpent.Record(eps);
        Log.Trained(logger, JobId, GatewayId, task.Sequence, State.Plan.Examples, local.Settings.Steps, local.Settings.SampleRate,
            local.Settings.NoiseMultiplier, privacy.Epsilon?.ToString("F3") ?? "not claimed", seconds);
        return (update, bytes);
    }

    /// <summary>
    /// The site's policy again, as this silo reads it now, before anything is spent: a job admitted before the site
    /// tightened it stops here, and so does one its admin has not approved (or has rejected since).
    /// </summary>
    private async Task<string?> SitePolicyRefusalAsync(JobSpec spec, GatewaySpec gateway, LocalPlan local, TorchSharp.torch.Tensor x)
    {
        var planned = new PlannedGateway(gateway, State.Plan!.Examples, x.shape.Skip(1).Select(d => (int)d).ToArray(), data.Dataset(spec).Classes, local);
        var work = await sitePolicy.WorkAsync(spec, planned);
        var policy = sitePolicy.Refusals(JobId, gateway, work, atSubmission: false, submitter: null);
        if (policy.Count == 0 && await sitePolicy.ApprovalRefusalAsync(JobId, spec, planned, work, null) is { } unapproved)
            policy = [unapproved];
        return policy.Count > 0 ? string.Join(" ", policy) : null;
    }

    /// <summary>The plan fixed at join, rebuilt after a reactivation from the stored noise multiplier (no recalibration).</summary>
    private async Task<LocalPlan> JoinedPlanAsync(JobSpec spec, GatewaySpec gateway)
    {
        if (cached is { } c && ReferenceEquals(c.Spec, spec)) return c.Plan;
        var (examples, sigma) = (State.Plan!.Examples, State.Plan.NoiseMultiplier);
        var restored = await AccountantWork.RunAsync(() =>
            LocalPlan.Restore(spec.Defaults.With(gateway.Overrides), spec.Privacy, examples, spec.PlannedParticipations(), sigma, spec.Personalization.Charge(spec.Model)));
        // A join may have replaced the spec meanwhile (an interleaved privacy query): keep only a plan of the current one.
        if (ReferenceEquals(State.Spec, spec)) cached = (spec, restored);
        return restored;
    }

    /// <summary>Why this request may not train: the gateway's own budget, then the site's (which records the run if it fits).</summary>
    private async Task<string?> RefusalAsync(JobSpec spec, GatewaySpec gateway, RoundTask task, LocalPlan local, IReadOnlyList<PrivacyCharge> charges)
    {
        if (local.EpsilonClaimed)
        {
            var own = Ledger();
            var projection = await AccountantWork.RunAsync(() => own.Project(charges));
            if (!projection.Fits) return GatewayRound.BudgetRefusal(projection, State.Delta, State.Releases.Count);
        }
        // The site's cross-job ledger records the run before it happens, and refuses one that would cross its lifetime
        // budget. Only its sealed answer counts: a forged "recorded" would let this gateway train past the site's budget.
        var spend = new SiteSpend(JobId, GatewayId, task.Sequence, task.ModelVersion, charges, time.GetUtcNow());
        var challenge = AnswerSeals.NewChallenge();
        try
        {
            return seals.Open(SealedPurpose.Spend(gateway.SiteId, spend), challenge,
                await GrainFactory.GetGrain<ISiteLedgerGrain>(gateway.SiteId).SpendAsync(spend, challenge));
        }
        catch
        {
            Reconciler.Invalidate(); // the site may have recorded it before the call failed
            throw;
        }
    }

    private PrivacyLedger Ledger() =>
        new(PrivacyAccountants.Get(State.Accountant), State.Delta, State.TargetEpsilon, State.Charges().ToArray());

    /// <summary>Null until the gateway released something (a gateway that only joined has spent nothing). Reconciled with its site's ledger first.</summary>
    public async Task<GatewayPrivacy?> GetPrivacyAsync()
    {
        await Reconciler.EnsureAsync();
        if (Reconciler.Disagreement is { } disagreement) throw new InvalidOperationException(disagreement);
        return State.Releases.Count > 0 ? await PrivacyAsync() : null;
    }

    public Task<string> GetSiloAsync() => Task.FromResult(silo.SiloAddress.ToString());

    /// <summary>
    /// The ledger as a report, computed off the grain's turn from a snapshot: the example-level epsilon of everything
    /// released (when claimed), the site-level epsilon of locally privatised updates and of secure sums with
    /// distributed noise, and the plan that reproduces them.
    /// </summary>
    private async Task<GatewayPrivacy> PrivacyAsync()
    {
        var s = State;
        var own = Ledger();
        var steps = s.Charges().Where(c => c.Mechanism == Mechanism.DpSgd).ToArray();
        // The training loss releases (the personal accuracy's one release is in the epsilon, not among these).
        var metrics = s.Releases.Where(r => r.Sequence != PersonalEvaluation.Sequence).SelectMany(r => r.Charges).Where(c => c.Mechanism == Mechanism.NoisedMetric).ToArray();
        // The plan of a joined gateway; a first-format record has only its last round's charge and its noise level.
        var last = steps.LastOrDefault();
        var (sampleRate, sigma, claimed) = (last?.SampleRate ?? 0, last?.NoiseMultiplier ?? 0, s.NoiseLevel == "sample");
        if (s.Spec is { } spec && s.Plan is not null)
        {
            var local = await JoinedPlanAsync(spec, spec.ResolveGateways().First(g => g.Id == GatewayId));
            (sampleRate, sigma, claimed) = (local.Settings.SampleRate, local.Settings.NoiseMultiplier, local.EpsilonClaimed);
        }
        // A snapshot: the computation runs off the grain's turn, while an interleaved call may add a release.
        // Update-level DP covers the deltas released, not the personal accuracy (a count, charged on its own).
        int deltas = s.Releases.Count(r => r.Sequence != PersonalEvaluation.Sequence);
        var (updateCharges, delta) = (s.UpdateNoiseMultiplier > 0 && deltas > 0 ? new[] { UpdateDp.Charge(s.UpdateNoiseMultiplier, deltas) } : null, s.Delta);
        var (epsilon, updateEpsilon, secureSumEpsilon) = await AccountantWork.RunAsync(() => (
            claimed ? own.Epsilon() : (double?)null,
            updateCharges is null ? (double?)null : own.Accountant.Epsilon(updateCharges, delta),
            own.SecureSumEpsilon()));
        return new GatewayPrivacy(GatewayId, epsilon, s.Delta, sampleRate, sigma, steps.Sum(c => c.Steps), s.NoiseLevel,
            s.Accountant, s.TargetEpsilon, updateEpsilon, metrics.LastOrDefault()?.NoiseMultiplier ?? 0, metrics.Sum(c => c.Steps), s.Releases.Count,
            secureSumEpsilon);
    }
}
