using System.Text.Json.Serialization;

namespace FedGrains.Learning.Models;

/// <summary>Which model a job trains.</summary>
/// <param name="Kind">"mlp" (fully connected, ReLU), "cnn" (small tanh conv net for 28x28 images), "text" (token
/// embedding, mean over tokens, LayerNorm, then an MLP with <paramref name="Hidden"/> widths): presets of a layer list
/// (<see cref="ModelPresets"/>); or "layers" for the spec's own <see cref="Layers"/>. Unset: "layers" when Layers is
/// given, else "mlp".</param>
/// <param name="Hidden">Hidden layer widths of the MLP ([] is a linear model); ignored by the CNN.</param>
/// <param name="Activation">Activation of the MLP's hidden layers: "relu" or "tanh" (bounded activations often train better under DP-SGD, Papernot et al. 2021).</param>
/// <param name="Frozen">Parameter-name prefixes (e.g. "fc1") that are neither trained nor sent: partial training,
/// such as a pretrained feature extractor. Their deltas are exactly zero and the codec omits them.</param>
public sealed record ModelSpec(string? Kind = null, int[]? Hidden = null, string Activation = "relu", string[]? Frozen = null)
{
    /// <summary>
    /// Parameter-name prefixes (e.g. "out") of layers personal to each site (FedPer, Arivazhagan et al. 2019): trained
    /// at every gateway on its own data, kept in its own state and never sent, so each site ends with its own head on
    /// the shared body. The federation's copy of them stays as initialised. See <see cref="Jobs.PersonalizationSpec"/>.
    /// </summary>
    public string[]? Local { get; init; }

    /// <summary>Whether the job has personal layers (<see cref="Local"/> names at least one).</summary>
    [JsonIgnore]
    public bool Personalized => Local is { Length: > 0 };

    /// <summary>The model as a sequential layer list (model.kind "layers"); shapes are inferred from the data (<see cref="ModelLayout"/>).</summary>
    public LayerSpec[]? Layers { get; init; }

    /// <summary>
    /// A safetensors file (e.g. saved by PyTorch) the job starts from as model version 0 instead of a seeded random
    /// initialisation; with <see cref="Frozen"/>, partial training of a pretrained model. `run` and `submit` read it
    /// (relative to the spec file) and upload it with the job.
    /// </summary>
    public string? InitialWeights { get; init; }

    /// <summary>The SHA-256 (hex) of <see cref="InitialWeights"/>' bytes: filled in by the CLI, so the stored spec (and what a site approves) pins the exact weights.</summary>
    public string? InitialWeightsSha256 { get; init; }

    /// <summary>Prefixes of the file's tensor names and the layer names they become, e.g. {"features.0": "conv1"} (PyTorch's nested module names hold dots, layer names do not).</summary>
    public Dictionary<string, string>? InitialWeightsRename { get; init; }

    [JsonIgnore]
    public string KindOrDefault => (Kind ?? (Layers is null ? "mlp" : "layers")).ToLowerInvariant();

    /// <summary>Token ids the text model can embed (ids 0 .. vocabulary - 1).</summary>
    public int Vocabulary { get; init; } = 256;

    /// <summary>Width of the text model's token embedding.</summary>
    public int EmbeddingDim { get; init; } = 32;

    public int[] HiddenOrDefault => Hidden ?? [256];
}
