namespace FedGrains.Learning.SecureAggregation;

/// <summary>
/// Secure aggregation (SecAgg+, Bell et al. 2020): the federation learns only the sum of the round's deltas. Each
/// delta is clipped, rotated and rounded to integers mod 2^bits (<see cref="SecureEncoding"/>), masked, and summed.
/// </summary>
public sealed record SecureAggregationSpec
{
    public bool Enabled { get; init; }

    /// <summary>t: shares needed to recover a gateway's secrets, and the fewest masked inputs a round unmasks; 0 = a majority of the neighbours (k / 2 + 1).</summary>
    public int Threshold { get; init; }

    /// <summary>k: the neighbours each gateway masks with; 0 = 2 ceil(log2 n) (SecAgg+), n - 1 or more = every other gateway (classic SecAgg).</summary>
    public int Neighbours { get; init; }

    /// <summary>The sum is taken mod 2^bits (8..32).</summary>
    public int Bits { get; init; } = 24;

    /// <summary>L2 bound each delta is clipped to before the encoding (it bounds the integers, so the sum cannot wrap).</summary>
    public double ClippingNorm { get; init; } = 100;

    /// <summary>
    /// z, distributed DP: each gateway adds discrete Gaussian noise so that the sum of the whole cohort carries noise
    /// of standard deviation z x clipping_norm (each adds z C / sqrt(cohort)); 0 = no distributed noise.
    /// </summary>
    public double NoiseMultiplier { get; init; }

    /// <summary>Largest probability, per round, that a coordinate of the sum wraps mod 2^bits; the encoding's scale is chosen to meet it.</summary>
    public double MaxWrapProbability { get; init; } = 1e-9;
}
