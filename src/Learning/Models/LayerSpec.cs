namespace FedGrains.Learning.Models;

/// <summary>
/// One layer of a <see cref="ModelSpec.Layers"/> list, as a spec writes it, e.g. {"type": "conv2d", "out": 16,
/// "kernel": 3, "stride": 2, "padding": 1}. Which fields a type takes, and their defaults, is <see cref="ModelLayout"/>'s.
/// </summary>
/// <param name="Type">linear, conv2d, max_pool2d, avg_pool2d, flatten, dropout, embedding, mean_tokens, layer_norm,
/// group_norm, relu, tanh, gelu, sigmoid or residual.</param>
public sealed record LayerSpec(string Type)
{
    /// <summary>The layer's name in parameter names ("{name}.weight"), for model.frozen and safetensors files; by default its position in the list, as in PyTorch's nn.Sequential.</summary>
    public string? Name { get; init; }

    /// <summary>Output features (linear) or channels (conv2d).</summary>
    public int? Out { get; init; }

    public int? Kernel { get; init; }
    public int? Stride { get; init; }
    public int? Padding { get; init; }

    /// <summary>Channel groups of a group_norm; they must divide its channels.</summary>
    public int? Groups { get; init; }

    /// <summary>A dropout's drop probability, in [0, 1).</summary>
    public double? P { get; init; }

    /// <summary>An embedding's token ids (0 .. vocabulary - 1) and its width.</summary>
    public int? Vocabulary { get; init; }
    public int? Dim { get; init; }

    /// <summary>A residual block's body: layers whose output, of the block's input shape, is added to that input (He et al. 2016).</summary>
    public LayerSpec[]? Layers { get; init; }
}
