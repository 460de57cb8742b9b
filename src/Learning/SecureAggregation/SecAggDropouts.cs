namespace FedGrains.Learning.SecureAggregation;

/// <summary>Which gateways dropped out of a SecAgg+ round, at which stage.</summary>
public sealed class SecAggDropouts
{
    public List<int> BeforeKeys { get; } = [];
    public List<int> BeforeShares { get; } = [];
    public List<int> BeforeInput { get; } = [];
    /// <summary>Survivors that did not sign the survivor set (signed rounds): their inputs are in the sum, they unmask nothing.</summary>
    public List<int> BeforeConsistency { get; } = [];
    public List<int> BeforeUnmask { get; } = [];
}
