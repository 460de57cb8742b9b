using FedGrains.Grains.Security;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;

namespace FedGrains.Grains.Federation;

/// <summary>
/// What a round driver needs from the job's grain: its persisted state, its cancellation, the gateways, and the
/// commit of a new version. The drivers are plain classes; everything they touch runs on the grain's scheduler.
/// </summary>
internal interface IRoundHost
{
    string JobId { get; }

    FederationState State { get; }

    CancellationToken JobCancellation { get; }

    /// <summary>True once the job left the running state or is being cancelled: a driver records nothing more.</summary>
    bool Stopped { get; }

    IGrainFactory GrainFactory { get; }

    /// <summary>The data site of one of the job's gateways.</summary>
    string SiteOf(string gatewayId);

    RoundAggregator Aggregator { get; }

    /// <summary>Opens the gateways' sealed answers (secure rounds).</summary>
    AnswerSeals Seals { get; }

    /// <summary>Checks the gateways' signed secure-aggregation keys (with TLS: the site certificates).</summary>
    SecAggSigning Signing { get; }

    /// <summary>Gateways that answered in the current round (or buffered updates) out of the cohort (or buffer size), for status.</summary>
    void SetProgress(int done, int of);

    Task WriteAsync();

    Task FailAsync(string error);

    /// <summary>Every gateway that took part still has its ledger, agreeing with its site's; else <see cref="InvalidDataException"/>.</summary>
    Task VerifyGatewaysAsync();

    /// <summary>The store lost state the job needs: stop without writing, and refuse every call with <paramref name="why"/>.</summary>
    void Hold(string why);

    /// <summary>Makes the outcome the next model version and persists it with the changes <paramref name="alsoPersist"/> makes, in one write.</summary>
    Task CommitVersionAsync(JobSpec spec, RoundOutcome outcome, Action alsoPersist);

    Task<ModelSnapshot> GetModelVersionAsync(long version);

    void Notify(Action<IJobObserver> notification);
}
