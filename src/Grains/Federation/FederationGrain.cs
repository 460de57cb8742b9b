using FedGrains.Learning.Codecs;
using FedGrains.Learning.Federation;
using System.Diagnostics;
using FedGrains.Grains.Gateway;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using FedGrains.Grains.Storage;
using FedGrains.Learning;
using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;
using Orleans.Utilities;

namespace FedGrains.Grains.Federation;

/// <summary>
/// Orchestrates one job: persists it, drives its rounds from a keep-alive grain timer (one round per tick, so no
/// request runs for the whole job), validates and aggregates the gateways' deltas, evaluates, and writes the new model,
/// metrics and privacy spend in one state write per round. Queries interleave with a running round.
/// </summary>
public sealed class FederationGrain(
    [PersistentState("federation", "fedgrains")] IPersistentState<FederationState> job,
    IJobIndex index,
    DatasetCache data,
    IOptions<FedGrainsSiloOptions> options,
    ILocalSiloDetails silo,
    RoundAggregator aggregator,
    TimeProvider time,
    ILogger<FederationGrain> logger) : Grain, IFederationGrain, IRemindable, IRoundHost
{
    private const string ResumeReminder = "fedgrains-resume";
    private static readonly TimeSpan TransientPatience = TimeSpan.FromMinutes(2);
    private DateTimeOffset? transientSince;
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly CancellationTokenSource jobCancellation = new();
    private IGrainTimer? driver;
    private readonly ObserverManager<IJobObserver> observers = new(TimeSpan.FromMinutes(2), logger);
    private int gatewaysDone, cohortSize;
    private bool gatewaysJoined;
    private SynchronousRounds? synchronous;
    private BufferedRounds? buffered;

    public string JobId => this.GetPrimaryKeyString();
    FederationState IRoundHost.State => job.State;
    CancellationToken IRoundHost.JobCancellation => jobCancellation.Token;
    bool IRoundHost.Stopped => job.State.State != JobState.Running || jobCancellation.IsCancellationRequested;
    RoundAggregator IRoundHost.Aggregator => aggregator;
    IGrainFactory IRoundHost.GrainFactory => GrainFactory;
    void IRoundHost.SetProgress(int done, int of) => (gatewaysDone, cohortSize) = (done, of);
    void IRoundHost.Notify(Action<IJobObserver> notification) => observers.Notify(notification);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (job.State.State == JobState.Running)
        {
            Log.Resumed(logger, JobId, job.State.RoundsCompleted);
            await StartDrivingAsync();
        }
    }

    /// <summary>The reminder only has to activate the grain; activation resumes the rounds.</summary>
    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await jobCancellation.CancelAsync();
        driver?.Dispose();
    }

    public async Task<JobStatus> StartAsync(JobSpec spec)
    {
        var problems = JobSpecValidator.Problems(spec);
        if (problems.Count > 0) throw new ArgumentException(new JobSpecException(problems).Message);
        if (job.State.Spec is { } existing)
        {
            if (JobSpecJson.Serialize(existing) == JobSpecJson.Serialize(spec)) return Status();
            throw new InvalidOperationException($"job '{JobId}' already exists with a different spec; pick a new job id (its stored rounds are kept).");
        }

        await JoinGatewaysAsync(spec, checkSiteBudgets: true);
        var dataset = await Task.Run(() => data.Dataset(spec));
        var (weights, layout) = await Task.Run(() =>
            GlobalModel.Initial(spec.Model, dataset.ExampleShape, dataset.Classes, spec.Seed));
        await index.SetStateAsync(JobId, nameof(JobState.Running));
        job.State = new FederationState
        {
            Spec = spec,
            State = JobState.Running,
            Weights = WeightBuffer.Encode(weights, WeightKind.Weights, 0, layout),
            LayoutHash = layout,
            StartedAt = time.GetUtcNow(),
            SchemaVersion = FederationState.CurrentSchema,
        };
        await StoreVersionAsync(0, job.State.Weights);
        await WriteAsync();
        Log.Started(logger, JobId, spec.Rounds, spec.ResolveGateways().Count);
        await StartDrivingAsync();
        return Status();
    }

    /// <summary>
    /// Sends the job to every gateway once (each stores it and its calibrated plan). At submission it then refuses
    /// the job before anything is stored when, for some site, what its gateways plan to run in this job composed with
    /// what the site already spent would cross the site's lifetime budget.
    /// </summary>
    private async Task JoinGatewaysAsync(JobSpec spec, bool checkSiteBudgets)
    {
        var plans = await Task.WhenAll(spec.ResolveGateways().Select(async g =>
            (g.SiteId, Plan: await GrainFactory.GetGrain<IGatewayGrain>(IGatewayGrain.Key(JobId, g.Id)).JoinAsync(spec))));
        gatewaysJoined = true;
        if (!checkSiteBudgets) return;
        var refusals = await Task.WhenAll(plans.GroupBy(p => p.SiteId).Select(site =>
            GrainFactory.GetGrain<ISiteLedgerGrain>(site.Key).CheckAsync(JobId, site.SelectMany(p => p.Plan).ToArray())));
        if (refusals.OfType<string>().ToArray() is { Length: > 0 } reasons)
            throw new ArgumentException($"job '{JobId}' refused up front, nothing was stored: " + string.Join(" ", reasons));
    }

    public Task WakeAsync() => Task.CompletedTask;

    public Task<JobStatus> GetStatusAsync() => Task.FromResult(Status());

    public async Task<JobStatus> CancelAsync()
    {
        if (job.State.State == JobState.Running)
        {
            job.State.State = JobState.Cancelled;
            job.State.FinishedAt = time.GetUtcNow();
            await jobCancellation.CancelAsync();
            await WriteAsync();
            await index.SetStateAsync(JobId, nameof(JobState.Cancelled));
            Log.Finished(logger, JobId, nameof(JobState.Cancelled), job.State.RoundsCompleted);
            observers.Notify(o => o.JobFinished(Status()));
        }
        return Status();
    }

    public Task<ModelSnapshot> GetModelAsync() => Task.FromResult(new ModelSnapshot(job.State.ModelVersion, job.State.Weights));

    public async Task<ModelSnapshot> GetModelVersionAsync(long version)
    {
        if (version == job.State.ModelVersion) return await GetModelAsync();
        if (version >= 0 && version < job.State.ModelVersion
            && await GrainFactory.GetGrain<IModelVersionGrain>(IModelVersionGrain.Key(JobId, version)).GetAsync() is { } weights)
            return new ModelSnapshot(version, weights);
        int keep = job.State.Spec?.Aggregation.Buffered.KeepVersions ?? 0;
        throw new ArgumentException($"job '{JobId}' has no model version {version}: versions run 0..{job.State.ModelVersion}"
            + (keep > 0 ? $" and only the last {keep} are kept (aggregation.buffered.keep_versions)." : "."));
    }

    public Task<IReadOnlyList<RoundRecord>> GetHistoryAsync() => Task.FromResult<IReadOnlyList<RoundRecord>>(job.State.History.ToArray());

    public Task<JobSpec?> GetSpecAsync() => Task.FromResult(job.State.Spec);

    public Task SubscribeAsync(IJobObserver observer)
    {
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
        var ledgers = await Task.WhenAll(spec.ResolveGateways().Select(g =>
            GrainFactory.GetGrain<IGatewayGrain>(IGatewayGrain.Key(JobId, g.Id)).GetPrivacyAsync()));
        return ledgers.OfType<GatewayPrivacy>().ToArray();
    }

    private async Task StartDrivingAsync()
    {
        if (options.Value.UseReminders)
            await this.RegisterOrUpdateReminder(ResumeReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        driver ??= this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions
        {
            DueTime = TimeSpan.Zero,
            Period = TimeSpan.FromMilliseconds(options.Value.RoundTickMilliseconds),
            Interleave = false,
            KeepAlive = true,
        });
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        var s = job.State;
        if (s.State != JobState.Running || s.Spec is null)
        {
            driver?.Dispose();
            driver = null;
            if (options.Value.UseReminders && await this.GetReminder(ResumeReminder) is { } reminder)
                await this.UnregisterReminder(reminder);
            return;
        }
        try
        {
            // A resumed job (or one stored by the first format, whose gateways never joined) joins its gateways again:
            // a gateway that holds the same job answers from its stored plan.
            if (!gatewaysJoined) await JoinGatewaysAsync(s.Spec, checkSiteBudgets: false);
            if (s.Spec.Aggregation.Buffered.Enabled) await (buffered ??= new BufferedRounds(this, logger)).StepAsync(s.Spec);
            else await (synchronous ??= new SynchronousRounds(this)).RunAsync(s.Spec);
        }
        catch (InconsistentStateException e)
        {
            // Another activation of this job wrote first (a silo was declared dead while this one still ran). This
            // copy is stale: step aside without touching the job; the live activation carries on from storage.
            Log.StaleActivation(logger, JobId, e.Message);
            driver?.Dispose();
            driver = null;
            DeactivateOnIdle();
        }
        catch (Exception e) when (!jobCancellation.IsCancellationRequested && e is OrleansException or TimeoutException
                                  && (transientSince ??= time.GetUtcNow()) > time.GetUtcNow() - TransientPatience)
        {
            // The cluster is still forming (a restart: grain types not yet known everywhere) or a silo just left:
            // what is persisted stays, and the next tick carries on from it (a synchronous round is repeated whole).
            Log.TransientFailure(logger, JobId, s.RoundsCompleted + 1, e.Message);
            return;
        }
        catch (Exception e) when (!jobCancellation.IsCancellationRequested)
        {
            await FailAsync($"round {s.RoundsCompleted + 1}: {e.GetType().Name}: {e.Message}");
            return;
        }
        transientSince = null;
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
        await StoreVersionAsync(s.ModelVersion + 1, weights);
        s.Weights = weights;
        s.ModelVersion++;
        s.AggregationCheckpoint = CheckpointCodec.Encode(outcome.Checkpoint!);
        s.RoundsCompleted = record.Round;
        s.History.Add(record);
        alsoPersist();
        bool finished = record.Round >= spec.Rounds;
        if (finished)
        {
            s.State = JobState.Completed;
            s.FinishedAt = time.GetUtcNow();
        }
        await WriteAsync();
        int keep = spec.Aggregation.Buffered.KeepVersions;
        if (keep > 0 && s.ModelVersion - keep >= 0)
            await GrainFactory.GetGrain<IModelVersionGrain>(IModelVersionGrain.Key(JobId, s.ModelVersion - keep)).ForgetAsync();

        Telemetry.RoundsCompleted.Add(1);
        Telemetry.RoundDuration.Record(record.Seconds);
        Telemetry.AggregationDuration.Record(record.AggregationSeconds);
        Telemetry.BytesDown.Add(record.BytesDown);
        Telemetry.BytesUp.Add(record.BytesUp);
        Log.RoundCompleted(logger, JobId, record.Round, spec.Rounds, record.Participants.Count, record.Rejected.Count, record.TestAccuracy, record.TestLoss,
            MaxEpsilon(record)?.ToString("F3") ?? "not claimed", record.Seconds);
        observers.Notify(o => o.RoundCompleted(Status(), record));
        if (finished)
        {
            await jobCancellation.CancelAsync(); // buffered mode: calls still out are no longer needed
            await index.SetStateAsync(JobId, nameof(JobState.Completed));
            Log.Finished(logger, JobId, nameof(JobState.Completed), record.Round);
            observers.Notify(o => o.JobFinished(Status()));
        }
    }

    private Task StoreVersionAsync(long version, byte[] weights) =>
        GrainFactory.GetGrain<IModelVersionGrain>(IModelVersionGrain.Key(JobId, version)).StoreAsync(weights);

    public async Task FailAsync(string error)
    {
        job.State.State = JobState.Failed;
        job.State.Error = error;
        job.State.FinishedAt = time.GetUtcNow();
        await WriteAsync();
        await index.SetStateAsync(JobId, nameof(JobState.Failed));
        Log.Failed(logger, JobId, error);
        observers.Notify(o => o.JobFinished(Status()));
    }

    // Round results and cancellation may interleave; writes go one at a time so neither sees a stale ETag.
    public async Task WriteAsync()
    {
        job.State.SchemaVersion = FederationState.CurrentSchema;
        await writeLock.WaitAsync();
        try { await job.WriteStateAsync(); }
        finally { writeLock.Release(); }
    }

    private JobStatus Status()
    {
        var s = job.State;
        var last = s.History.LastOrDefault();
        return new JobStatus(JobId, s.State, s.RoundsCompleted, s.Spec?.Rounds ?? 0, s.ModelVersion, last?.TestAccuracy,
            last is null ? null : MaxEpsilon(last), gatewaysDone, cohortSize, s.Error, s.StartedAt, s.FinishedAt, silo.SiloAddress.ToString());
    }

    private static double? MaxEpsilon(RoundRecord record) =>
        record.Privacy.Select(p => p.Epsilon).Where(e => e is not null).Max();
}
