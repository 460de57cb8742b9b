namespace FedGrains.Learning.Aggregation;

/// <summary>How much a stale update counts in buffered aggregation.</summary>
public static class Staleness
{
    /// <summary>
    /// FedBuff's polynomial weight (1 + staleness)^-a (Nguyen et al. 2022, after Xie et al. 2019's FedAsync): an update
    /// trained from a model several versions old still helps, but less, since the model moved on without it.
    /// </summary>
    public static double Weight(long staleness, double exponent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(staleness);
        return exponent == 0 ? 1 : Math.Pow(1 + staleness, -exponent);
    }
}
