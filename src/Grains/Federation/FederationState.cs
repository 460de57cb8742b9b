using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;

namespace FedGrains.Grains.Federation;

/// <summary>A job's durable state, written in one piece after every round so a round is never half-recorded.</summary>
[GenerateSerializer, Alias("fedgrains.federation-state")]
public sealed class FederationState
{
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
}
