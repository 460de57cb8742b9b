namespace FedGrains.Grains.Interfaces;

/// <summary>
/// An answer on which a site's privacy depends (a ledger's spend decision, what it recorded, a job's approval),
/// sealed by the silo that answers over the caller's challenge, so a forged or replayed response is refused.
/// </summary>
[GenerateSerializer, Immutable, Alias("fedgrains.sealed`1")]
public sealed record Sealed<T>([property: Id(0)] T Value, [property: Id(1)] string Seal);
