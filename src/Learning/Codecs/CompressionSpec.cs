namespace FedGrains.Learning.Codecs;

/// <summary>How gateways compress their deltas on the way up (decoded at the federation).</summary>
public sealed record CompressionSpec
{
    /// <summary>"none", "quantize" (uniform, stochastic rounding), "top_k" or "threshold" (sparsification).</summary>
    public string Kind { get; init; } = "none";

    /// <summary>Bits per value for "quantize" (1..16).</summary>
    public int Bits { get; init; } = 8;

    /// <summary>Tensors with fewer elements are sent uncompressed (TFF's default threshold).</summary>
    public int MinSize { get; init; } = 20000;

    /// <summary>Fraction of each tensor's largest-magnitude values kept by "top_k".</summary>
    public double TopKFraction { get; init; } = 0.1;

    /// <summary>Values with |v| below this are dropped by "threshold".</summary>
    public double Threshold { get; init; } = 1e-3;
}
