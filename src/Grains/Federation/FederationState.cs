using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;

namespace FedGrains.Grains.Federation;

/// <summary>A job's durable state, written in one piece after every round so a round is never half-recorded.</summary>
[GenerateSerializer, Alias("fedgrains.federation-state")]
public sealed class FederationState
{
    /// <summary>The format this release writes; 0 in a record of the first format (the same fields, no version).</summary>
    public const int CurrentSchema = 2;

    [Id(0)] public JobSpec? Spec { get; set; }
    [Id(1)] public JobState State { get; set; } = JobState.NotStarted;
    [Id(2)] public int RoundsCompleted { get; set; }
    [Id(3)] public long ModelVersion { get; set; }

    /// <summary>The global model as a WeightBuffer.</summary>
    [Id(4)] public byte[] Weights { get; set; } = [];
    [Id(5)] public ulong LayoutHash { get; set; }
    [Id(6)] public List<RoundRecord> History { get; set; } = [];
    [Id(7)] public string? Error { get; set; }
    [Id(8)] public DateTimeOffset? StartedAt { get; set; }
    [Id(9)] public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>The aggregation pipeline's carried state (adaptive bounds, server optimizer moments), as CheckpointCodec bytes.</summary>
    [Id(10)] public byte[]? AggregationCheckpoint { get; set; }

    /// <summary>Buffered mode's carried state: received updates not yet in a version, and the dispatches still out.</summary>
    [Id(11)] public BufferState Buffer { get; set; } = new();

    [Id(12)] public int SchemaVersion { get; set; }

    /// <summary>Every gateway holds the job (false in a job stored by the first format until its gateways joined).</summary>
    [Id(13)] public bool GatewaysJoined { get; set; }

    /// <summary>The client key that submitted the job; null for a job of an earlier format or of a cluster without authentication.</summary>
    [Id(14)] public string? Owner { get; set; }

    /// <summary>Every site whose policy asks to approve each job has approved this one (<see cref="ApprovalGate"/>).</summary>
    [Id(15)] public bool SitesApproved { get; set; }

    /// <summary>A personalised job's site accuracies (model.local), asked of every gateway as the last round commits; null before.</summary>
    [Id(16)] public List<PersonalEvaluation>? Personal { get; set; }

    /// <summary>A job that starts now from model version 0 (<paramref name="weights"/>, a WeightBuffer).</summary>
    public static FederationState Start(JobSpec spec, byte[] weights, ulong layoutHash, DateTimeOffset now) => new()
    {
        Spec = spec,
        State = JobState.Running,
        Weights = weights,
        LayoutHash = layoutHash,
        StartedAt = now,
        SchemaVersion = CurrentSchema,
        GatewaysJoined = true,
    };

    /// <summary>Makes <paramref name="weights"/> (a WeightBuffer of the next version) current with the round that made it; true when that ends the job.</summary>
    public bool Commit(RoundRecord record, byte[] weights, byte[] checkpoint, int rounds, DateTimeOffset now)
    {
        Weights = weights;
        ModelVersion++;
        AggregationCheckpoint = checkpoint;
        RoundsCompleted = record.Round;
        History.Add(record);
        if (record.Round < rounds) return false;
        State = JobState.Completed;
        FinishedAt = now;
        return true;
    }
}

/// <summary>
/// Buffered (asynchronous) mode between versions. Persisted with every arrival and dispatch, so after a crash the
/// buffered updates are not lost (their privacy is spent) and each outstanding dispatch is re-sent with the same
/// sequence number and model version, which the gateway answers with the update it already released.
/// </summary>
[GenerateSerializer, Alias("fedgrains.buffer-state")]
public sealed class BufferState
{
    [Id(0)] public List<BufferedUpdate> Updates { get; set; } = [];
    [Id(1)] public Dictionary<string, Dispatch> InFlight { get; set; } = [];
    [Id(2)] public int Dispatches { get; set; }

    /// <summary>Gateways that will not be asked again (budget spent, or failing repeatedly), with why.</summary>
    [Id(3)] public Dictionary<string, string> Retired { get; set; } = [];
    [Id(4)] public List<RejectedUpdate> Rejected { get; set; } = [];
    [Id(5)] public long BytesDown { get; set; }
    [Id(6)] public Dictionary<string, int> Failures { get; set; } = [];
}

/// <summary>A valid update waiting in the buffer, with the version it was trained from.</summary>
[GenerateSerializer, Immutable, Alias("fedgrains.buffered-update")]
public sealed record BufferedUpdate([property: Id(0)] GatewayUpdate Update, [property: Id(1)] long BaseVersion);

/// <summary>A gateway's outstanding training call: the sequence number it was sent as (its "round") and the version it trains from.</summary>
[GenerateSerializer, Immutable, Alias("fedgrains.dispatch")]
public sealed record Dispatch([property: Id(0)] int Sequence, [property: Id(1)] long BaseVersion);
