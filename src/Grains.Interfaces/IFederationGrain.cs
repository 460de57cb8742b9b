using FedGrains.Learning.Jobs;
using Orleans.Concurrency;

namespace FedGrains.Grains.Interfaces;

/// <summary>
/// The orchestrator of one job (key: job id). Persists the job and drives its rounds; queries interleave with a
/// running round so status stays live.
/// </summary>
[Alias("fedgrains.federation")]
public interface IFederationGrain : IGrainWithStringKey
{
    /// <summary>
    /// Reads the submitted spec strictly (a field this silo does not know is refused, never dropped), validates and
    /// persists the job, then starts its rounds. Submitting a job that exists with the same spec is a no-op.
    /// </summary>
    /// <remarks>Loads the data and calibrates every gateway's noise for the site budget check, which can take a while for long jobs.</remarks>
    [Alias("start"), ResponseTimeout("00:05:00")]
    Task<JobStatus> StartAsync(JobSubmission submission);

    /// <summary>Activates the job so an unfinished one resumes; used by a silo's start-up scan. Reveals and changes nothing.</summary>
    [Alias("wake"), AlwaysInterleave]
    Task WakeAsync();

    /// <summary>Who submitted the job and which sites it trains on, for access decisions inside the cluster (clients may not call it).</summary>
    [Alias("access"), AlwaysInterleave]
    Task<JobAccess> GetAccessAsync();

    [Alias("status"), AlwaysInterleave]
    Task<JobStatus> GetStatusAsync();

    /// <summary>Stops after the current round's calls are cancelled; completed rounds stay.</summary>
    [Alias("cancel"), AlwaysInterleave]
    Task<JobStatus> CancelAsync();

    [Alias("model"), AlwaysInterleave]
    Task<ModelSnapshot> GetModelAsync();

    /// <summary>A kept model version (every version unless aggregation.buffered.keep_versions limits them); a missing one is an ArgumentException saying which exist.</summary>
    [Alias("model-version"), AlwaysInterleave]
    Task<ModelSnapshot> GetModelVersionAsync(long version);

    [Alias("history"), AlwaysInterleave]
    Task<IReadOnlyList<RoundRecord>> GetHistoryAsync();

    [Alias("spec"), AlwaysInterleave]
    Task<JobSpec?> GetSpecAsync();

    /// <summary>Subscribes to round and end-of-job events; subscriptions expire after 2 minutes unless renewed.</summary>
    [Alias("subscribe"), AlwaysInterleave]
    Task SubscribeAsync(IJobObserver observer);

    /// <summary>Each gateway's data site and the silo it runs on (null while its site is offline).</summary>
    [Alias("gateways"), AlwaysInterleave]
    Task<IReadOnlyList<GatewayPlacement>> GetGatewaysAsync();

    [Alias("unsubscribe"), AlwaysInterleave]
    Task UnsubscribeAsync(IJobObserver observer);

    /// <summary>A personalised job's site accuracies (model.local), once its last round committed; empty before and for other jobs.</summary>
    [Alias("personal-evaluations"), AlwaysInterleave]
    Task<IReadOnlyList<PersonalEvaluation>> GetPersonalEvaluationsAsync();

    /// <summary>Each gateway's spend as its own durable ledger records it (the source of truth for the report).</summary>
    [Alias("gateway-privacy"), AlwaysInterleave]
    Task<IReadOnlyList<GatewayPrivacy>> GetGatewayPrivacyAsync();
}

/// <summary>A job spec as its submitter wrote it (JSON), so the silo reads it strictly whatever release the client is.</summary>
/// <param name="InitialWeights">The bytes of the spec's model.initial_weights file (safetensors), whose SHA-256 the spec pins; null when it names none.</param>
[GenerateSerializer, Immutable, Alias("fedgrains.job-submission")]
public sealed record JobSubmission([property: Id(0)] string SpecJson, [property: Id(1)] byte[]? InitialWeights = null);

/// <summary>A job's owner (the client key that submitted it; null when none is known) and the data sites it trains on.</summary>
[GenerateSerializer, Immutable, Alias("fedgrains.job-access")]
public sealed record JobAccess([property: Id(0)] string? Owner, [property: Id(1)] IReadOnlyList<string> Sites);

/// <summary>Where one gateway of a job runs: its data site and silo (null while no silo that serves the site is up).</summary>
[GenerateSerializer, Immutable, Alias("fedgrains.gateway-placement")]
public sealed record GatewayPlacement([property: Id(0)] string GatewayId, [property: Id(1)] string Site, [property: Id(2)] string? Silo);

public static class FederationGrainExtensions
{
    /// <summary>Submits <paramref name="spec"/> (see <see cref="IFederationGrain.StartAsync"/>).</summary>
    public static Task<JobStatus> StartAsync(this IFederationGrain job, JobSpec spec, byte[]? initialWeights = null) =>
        job.StartAsync(new JobSubmission(JobSpecJson.Serialize(spec), initialWeights));
}
