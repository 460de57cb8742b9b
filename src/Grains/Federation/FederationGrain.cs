using FedGrains.Grains.Gateway;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Placement;
using FedGrains.Grains.Security;
using FedGrains.Grains.Storage;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Jobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Utilities;

namespace FedGrains.Grains.Federation;

/// <summary>
/// One job's lifecycle: admits and persists it, has its rounds driven (<see cref="RoundTicker"/>, with
/// <see cref="SynchronousRounds"/> or <see cref="BufferedRounds"/>), commits each new model version with its round in
/// one state write, cancels, fails, and answers queries, which interleave with a running round. When the store lost
/// state the job needs (its own, or a gateway's), it stops and every call says so (<see cref="damaged"/>); nothing is
/// written, so the job goes on from the restored store.
/// </summary>
[FederationPlacementFilter]
public sealed class FederationGrain(
    [PersistentState("federation", "fedgrains")] IPersistentState<FederationState> job,
    IJobIndex index,
    DatasetCache data,
    IOptions<FedGrainsSiloOptions> options,
    ILocalSiloDetails silo,
    RoundAggregator aggregator,
    AnswerSeals seals,
    SecAggSigning signing,
    StoreLocation store,
    TimeProvider time,
    ILogger<FederationGrain> logger) : Grain, IFederationGrain, IRemindable, IRoundHost, IJobAccessControl, IIncomingGrainCallFilter
{
    /// <summary>What the store lost, when it lost state this job needs: every call throws it (not persisted).</summary>
    private string? damaged;

    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly CancellationTokenSource jobCancellation = new();
    private RoundTicker ticker = null!;
    private readonly ObserverManager<IJobObserver> observers = new(TimeSpan.FromMinutes(2), logger);
    private int gatewaysDone, cohortSize;
    private ModelVersions versions = null!;

    public string JobId => this.GetPrimaryKeyString();
    FederationState IRoundHost.State => job.State;
    CancellationToken IRoundHost.JobCancellation => jobCancellation.Token;
    bool IRoundHost.Stopped => job.State.State != JobState.Running || jobCancellation.IsCancellationRequested;
    RoundAggregator IRoundHost.Aggregator => aggregator;
    AnswerSeals IRoundHost.Seals => seals;

    SecAggSigning IRoundHost.Signing => signing;
    IGrainFactory IRoundHost.GrainFactory => GrainFactory;
    void IRoundHost.SetProgress(int done, int of) => (gatewaysDone, cohortSize) = (done, of);
    void IRoundHost.Notify(Action<IJobObserver> notification) => observers.Notify(notification);
    private Dictionary<string, string>? sitesOfGateways;

    public string SiteOf(string gatewayId) =>
        (sitesOfGateways ??= job.State.Spec!.ResolveGateways().ToDictionary(g => g.Id, g => g.SiteId))[gatewayId];

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        versions = new ModelVersions(GrainFactory);
        ticker = new RoundTicker(this, this, options.Value, time, logger);
        // The index is written ahead of the state on start and behind it at the end: a finished job listed there has
        // state. (A running one without may have crashed while starting, before any gateway trained: the gateways and
        // site ledgers refuse its admission if anything was spent.)
        if (!job.RecordExists && await index.GetStateAsync(JobId, cancellationToken) is { } listed && listed != nameof(JobState.Running))
        {
            Hold(store.Missing($"the state of job '{JobId}'", $"the job index lists it as {listed}"));
            return;
        }
        if (job.State.State == JobState.Running)
        {
            Log.Resumed(logger, JobId, job.State.RoundsCompleted);
            await ticker.StartAsync();
        }
    }

    /// <summary>The reminder only has to activate the grain; activation resumes the rounds.</summary>
    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await jobCancellation.CancelAsync();
        ticker.Stop();
    }

    public async Task<JobStatus> StartAsync(JobSubmission submission)
    {
        var spec = JobAdmission.Read(submission);
        if (job.State.Spec is { } existing)
        {
            if (JobSpecJson.Serialize(existing) == JobSpecJson.Serialize(spec)) return Status();
            throw new InvalidOperationException($"job '{JobId}' already exists with a different spec; pick a new job id (its stored rounds are kept).");
        }
        if (JobSpecValidator.IdProblem("job id", JobId) is { } badId) throw new ArgumentException(badId);

        // The initial model first: a model that cannot fit is refused before any gateway joins.
        var initial = await JobAdmission.InitialStateAsync(data, spec, submission.InitialWeights, time.GetUtcNow());
        await JobAdmission.AdmitAsync(GrainFactory, JobId, spec);
        initial.Owner = CallerContext.Current is { } caller && caller != ClientIdentity.LocalOperator ? caller.KeyId : null;
        await index.SetStateAsync(JobId, nameof(JobState.Running));
        await versions.StoreAsync(JobId, 0, initial.Weights);
        // Only a stored job is submitted: a failed write deactivates this activation, so a retried submission starts afresh.
        job.State = initial;
        await WriteAsync();
        Log.Started(logger, JobId, spec.Rounds, spec.ResolveGateways().Count);
        await ticker.StartAsync();
        return Status();
    }

    public Task WakeAsync() => Task.CompletedTask;

    /// <summary>Stops the job without writing anything, and makes every call refuse with <paramref name="why"/>.</summary>
    public void Hold(string why)
    {
        damaged = why;
        ticker.Stop();
        jobCancellation.Cancel();
        Log.Held(logger, JobId, why);
    }

    public Task Invoke(IIncomingGrainCallContext context) =>
        damaged is not null ? throw new InvalidOperationException(damaged) : context.Invoke();

    public Task<JobAccess> GetAccessAsync() => Task.FromResult(new JobAccess(job.State.Owner, Sites()));

    /// <summary>A job that does not exist yet shows nothing and may be submitted by anyone who may submit; once it exists, its owner and the admins of its sites decide.</summary>
    public string? Refusal(ClientIdentity caller, ClientAccess access)
    {
        if (job.State.Spec is null || ClientSurface.JobAllows(caller, access, job.State.Owner, Sites())) return null;
        return access == ClientAccess.SubmitJob
            ? $"job id '{JobId}' is taken; pick another"
            : $"job '{JobId}' is not {caller.KeyId}'s: a {caller.RoleText} may {(caller.Role == ClientRole.SiteAdmin ? "read only jobs that train on its site" : "see and cancel only its own jobs")}";
    }

    // A site admin sees its own site's gateways only (their ledgers and silos), not other sites'.
    private static bool VisibleToCaller(GatewaySpec gateway) => CallerContext.Current is not { Role: ClientRole.SiteAdmin } admin || admin.Site == gateway.SiteId;

    private string[] Sites() => job.State.Spec?.ResolveGateways().Select(g => g.SiteId).Distinct().ToArray() ?? [];

    public Task<JobStatus> GetStatusAsync() => Task.FromResult(Status());

    public async Task<JobStatus> CancelAsync()
    {
        if (job.State.State == JobState.Running)
        {
            job.State.State = JobState.Cancelled;
            job.State.FinishedAt = time.GetUtcNow();
            await jobCancellation.CancelAsync();
            await WriteAsync();
            await AnnounceEndAsync();
        }
        return Status();
    }

    public Task<ModelSnapshot> GetModelAsync() => Task.FromResult(new ModelSnapshot(job.State.ModelVersion, job.State.Weights));

    public Task<ModelSnapshot> GetModelVersionAsync(long version) => versions.GetAsync(JobId, job.State, version);

    public Task<IReadOnlyList<RoundRecord>> GetHistoryAsync() => Task.FromResult<IReadOnlyList<RoundRecord>>(job.State.History.ToArray());

    public Task<JobSpec?> GetSpecAsync() => Task.FromResult(job.State.Spec);

    /// <summary>Watchers per job: each costs a message per update, so a client subscribing in a loop cannot make every round fan out without end.</summary>
    public const int MaxObservers = 64;

    public Task SubscribeAsync(IJobObserver observer)
    {
        observers.ClearExpired();
        if (observers.Count >= MaxObservers && !observers.Observers.ContainsKey(observer))
            throw new InvalidOperationException($"job '{JobId}' already has {MaxObservers} watchers; stop one (or wait two minutes for idle ones to expire) and try again.");
        observers.Subscribe(observer, observer);
        return Task.CompletedTask;
    }

    public Task UnsubscribeAsync(IJobObserver observer)
    {
        observers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<GatewayPrivacy>> GetGatewayPrivacyAsync()
    {
        if (job.State.Spec is not { } spec) return [];
        var ledgers = await Task.WhenAll(spec.ResolveGateways().Where(VisibleToCaller).Select(async g =>
        {
            GatewayPrivacy? ledger;
            try { ledger = await SiteCalls.CallAsync(g.SiteId, () => SiteCalls.Gateway(GrainFactory, JobId, g.Id).GetPrivacyAsync()); }
            catch (SiteOfflineException) { return null; } // its ledger is with its site; the report shows it when the site is back
            int rounds = job.State.History.Count(r => r.Participants.Contains(g.Id));
            if (ledger is null && rounds > 0) // a gateway without a ledger has released nothing: the store lost this one's
                throw new InvalidOperationException(store.Missing($"the state (privacy ledger) of gateway '{g.Id}' of job '{JobId}'", $"the job's history shows its updates in {rounds} round(s)"));
            return ledger;
        }));
        return ledgers.OfType<GatewayPrivacy>().ToArray();
    }

    /// <summary>
    /// Before a resumed job's first round: each gateway that took part still has its ledger, reconciled with its
    /// site's. A gateway that lost it, or whose site's ledger lost its releases, stops the job before any other
    /// gateway spends again (an <see cref="InvalidDataException"/>, see <see cref="Hold"/>).
    /// </summary>
    public async Task VerifyGatewaysAsync()
    {
        try { await GetGatewayPrivacyAsync(); }
        catch (InvalidOperationException e) when (e is not ObjectDisposedException) { throw new InvalidDataException(e.Message, e); }
    }

    public async Task<IReadOnlyList<GatewayPlacement>> GetGatewaysAsync()
    {
        if (job.State.Spec is not { } spec) return [];
        return await Task.WhenAll(spec.ResolveGateways().Where(VisibleToCaller).Select(async g =>
        {
            try { return new GatewayPlacement(g.Id, g.SiteId, await SiteCalls.CallAsync(g.SiteId, () => SiteCalls.Gateway(GrainFactory, JobId, g.Id).GetSiloAsync())); }
            catch (SiteOfflineException) { return new GatewayPlacement(g.Id, g.SiteId, null); }
        }));
    }

    /// <summary>
    /// Makes the aggregated model the next version: stores it, then persists it with the round's record, checkpoint
    /// and <paramref name="alsoPersist"/>'s changes in one state write, then reports it.
    /// </summary>
    public async Task CommitVersionAsync(JobSpec spec, RoundOutcome outcome, Action alsoPersist)
    {
        var s = job.State;
        var record = outcome.Record!;
        var weights = WeightBuffer.Encode(outcome.Weights!, WeightKind.Weights, s.ModelVersion + 1, s.LayoutHash);
        await versions.StoreAsync(JobId, s.ModelVersion + 1, weights);
        // The last version: each site measures its own model on it before the job ends (a crash meanwhile reruns the
        // round, and each gateway answers with the evaluation it already released).
        List<PersonalEvaluation>? personal = null;
        if (record.Round >= spec.Rounds && spec.Model.Personalized)
        {
            // Buffered mode: a gateway still training a dispatch would hold the evaluation behind it; the job needs it no more.
            if (spec.Aggregation.Buffered.Enabled) await jobCancellation.CancelAsync();
            personal = await EvaluatePersonalAsync(spec, new RoundTask(PersonalEvaluation.Sequence, s.ModelVersion + 1, weights));
        }
        alsoPersist();
        if (personal is not null) s.Personal = personal;
        bool finished = s.Commit(record, weights, CheckpointCodec.Encode(outcome.Checkpoint!), spec.Rounds, time.GetUtcNow());
        await WriteAsync();
        await versions.ForgetOlderThanKeptAsync(JobId, spec, s.ModelVersion);
        Telemetry.RecordRound(JobId, record);
        Log.RoundCompleted(logger, JobId, record.Round, spec.Rounds, record.Participants.Count, record.Rejected.Count, record.TestAccuracy, record.TestLoss,
            record.MaxEpsilon()?.ToString("F3") ?? "not claimed", record.Seconds);
        observers.Notify(o => o.RoundCompleted(Status(), record));
        if (finished)
        {
            await jobCancellation.CancelAsync(); // buffered mode: calls still out are no longer needed
            await AnnounceEndAsync();
        }
    }

    /// <summary>Every gateway's personal accuracy on <paramref name="final"/>; one that cannot answer is listed with why.</summary>
    private async Task<List<PersonalEvaluation>> EvaluatePersonalAsync(JobSpec spec, RoundTask final)
    {
        double z = spec.Personalization.AccuracyNoiseMultiplier;
        var answers = await Task.WhenAll(spec.ResolveGateways().Select(async g =>
        {
            try { return await SiteCalls.CallAsync(g.SiteId, () => SiteCalls.Gateway(GrainFactory, JobId, g.Id).EvaluatePersonalAsync(final)); }
            catch (Exception e)
            {
                Log.PersonalEvaluationFailed(logger, JobId, g.Id, e.Message);
                return new PersonalEvaluation(g.Id, 0, null, z, final.ModelVersion, false, e.Message);
            }
        }));
        return [.. answers];
    }

    public Task<IReadOnlyList<PersonalEvaluation>> GetPersonalEvaluationsAsync()
    {
        var visible = job.State.Spec?.ResolveGateways().Where(VisibleToCaller).Select(g => g.Id).ToHashSet() ?? [];
        return Task.FromResult<IReadOnlyList<PersonalEvaluation>>(job.State.Personal?.Where(p => visible.Contains(p.GatewayId)).ToArray() ?? []);
    }

    public async Task FailAsync(string error)
    {
        if (job.State.State != JobState.Running) return; // a job that completed (or was cancelled) stays so, whatever failed after
        job.State.State = JobState.Failed;
        job.State.Error = error;
        job.State.FinishedAt = time.GetUtcNow();
        await WriteAsync();
        await AnnounceEndAsync();
    }

    /// <summary>After the end of the job is persisted: the job index, the log, the observers.</summary>
    private async Task AnnounceEndAsync()
    {
        var s = job.State;
        await index.SetStateAsync(JobId, s.State.ToString());
        if (s.State == JobState.Failed) Log.Failed(logger, JobId, s.Error ?? "");
        else Log.Finished(logger, JobId, s.State.ToString(), s.RoundsCompleted);
        observers.Notify(o => o.JobFinished(Status()));
    }

    // Round results and cancellation may interleave; writes go one at a time so neither sees a stale ETag.
    public async Task WriteAsync()
    {
        job.State.SchemaVersion = FederationState.CurrentSchema;
        await writeLock.WaitAsync();
        try { await job.WriteDurablyAsync(this, time); }
        finally { writeLock.Release(); }
    }

    private JobStatus Status()
    {
        var s = job.State;
        var last = s.History.LastOrDefault();
        return new JobStatus(JobId, s.State, s.RoundsCompleted, s.Spec?.Rounds ?? 0, s.ModelVersion, last?.TestAccuracy,
            last?.MaxEpsilon(), gatewaysDone, cohortSize, s.Error, s.StartedAt, s.FinishedAt, silo.SiloAddress.ToString(),
            s.State == JobState.Running ? ticker.Waiting : null);
    }
}
