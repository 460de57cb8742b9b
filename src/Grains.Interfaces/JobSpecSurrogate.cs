using FedGrains.Learning.Jobs;

namespace FedGrains.Grains.Interfaces;

/// <summary>
/// Carries a <see cref="JobSpec"/> across the wire and into storage as its JSON text, so the spec type stays in the
/// Orleans-free Learning library and one format serves the CLI, the wire and the stored state. Read tolerantly
/// (<see cref="JobSpecJson.ParseStored"/>): a silo reads what another release stored; user input is parsed strictly where it enters.
/// </summary>
[GenerateSerializer, Immutable, Alias("fedgrains.job-spec")]
public readonly struct JobSpecSurrogate
{
    [Id(0)] public readonly string Json;

    public JobSpecSurrogate(string json) => Json = json;
}

[RegisterConverter]
public sealed class JobSpecConverter : IConverter<JobSpec, JobSpecSurrogate>
{
    public JobSpec ConvertFromSurrogate(in JobSpecSurrogate surrogate) => JobSpecJson.ParseStored(surrogate.Json);

    public JobSpecSurrogate ConvertToSurrogate(in JobSpec value) => new(JobSpecJson.Serialize(value));
}
