namespace FedGrains.Learning.Models;

/// <summary>Which model a job trains.</summary>
/// <param name="Kind">"mlp" (fully connected, ReLU), "cnn" (small tanh conv net for 28x28 images) or "text" (token
/// embedding, mean over tokens, LayerNorm, then an MLP with <paramref name="Hidden"/> widths).</param>
/// <param name="Hidden">Hidden layer widths of the MLP ([] is a linear model); ignored by the CNN.</param>
/// <param name="Activation">Activation of the MLP's hidden layers: "relu" or "tanh" (bounded activations often train better under DP-SGD, Papernot et al. 2021).</param>
/// <param name="Frozen">Parameter-name prefixes (e.g. "fc1") that are neither trained nor sent: partial training,
/// such as a pretrained feature extractor. Their deltas are exactly zero and the codec omits them.</param>
public sealed record ModelSpec(string Kind = "mlp", int[]? Hidden = null, string Activation = "relu", string[]? Frozen = null)
{
    /// <summary>Token ids the text model can embed (ids 0 .. vocabulary - 1).</summary>
    public int Vocabulary { get; init; } = 256;

    /// <summary>Width of the text model's token embedding.</summary>
    public int EmbeddingDim { get; init; } = 32;

    public int[] HiddenOrDefault => Hidden ?? [256];
}
