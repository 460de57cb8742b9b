namespace FedGrains.Learning.Models;

/// <summary>
/// The built-in models (model.kind mlp, cnn, text) as the layer lists they are. Their layer names are the ones
/// FedGrains always used (fc1, out, conv1...), so model.frozen prefixes and exported safetensors keep their names.
/// </summary>
public static class ModelPresets
{
    /// <summary>The layer list of <paramref name="spec"/>: its own, or its kind's.</summary>
    public static IReadOnlyList<LayerSpec> Layers(ModelSpec spec, int[] exampleShape) => spec.KindOrDefault switch
    {
        "layers" => spec.Layers!,
        "mlp" => [new("flatten") { Name = "flatten" }, .. Dense(spec.HiddenOrDefault, Activation(spec.Activation)), new("linear") { Name = "out", Out = Classes }],
        "cnn" => Cnn(exampleShape),
        "text" => spec.Vocabulary < 2 || spec.EmbeddingDim < 1
            ? throw new ArgumentException("model.vocabulary must be >= 2 and model.embedding_dim >= 1.")
            :
        [
            new("embedding") { Name = "embed", Vocabulary = spec.Vocabulary, Dim = spec.EmbeddingDim },
            new("mean_tokens") { Name = "pool" },
            new("layer_norm") { Name = "norm" },
            .. Dense(spec.HiddenOrDefault, "tanh"),
            new("linear") { Name = "out", Out = Classes },
        ],
        var kind => throw new ArgumentException($"model.kind '{kind}' is not known: use \"mlp\", \"cnn\", \"text\", or give model.layers."),
    };

    /// <summary>Stands for the data's number of classes in a preset's output layer (filled in by <see cref="ForClasses"/>).</summary>
    private const int Classes = -1;

    /// <summary>The list with the preset's output width set to <paramref name="classes"/>.</summary>
    public static IReadOnlyList<LayerSpec> ForClasses(IReadOnlyList<LayerSpec> layers, int classes) =>
        layers.Select(l => l.Out == Classes ? l with { Out = classes } : l).ToArray();

    private static string Activation(string activation) => activation is "relu" or "tanh"
        ? activation
        : throw new ArgumentException($"model.activation '{activation}' is not known: use \"relu\" or \"tanh\".");

    private static IEnumerable<LayerSpec> Dense(int[] hidden, string activation)
    {
        if (hidden.Any(h => h < 1)) throw new ArgumentException("model.hidden widths must be >= 1.");
        for (int k = 0; k < hidden.Length; k++)
        {
            yield return new("linear") { Name = $"fc{k + 1}", Out = hidden[k] };
            yield return new(activation) { Name = $"{activation}{k + 1}" };
        }
    }

    // Tramer & Boneh 2021's CNNs (tanh activations): the end-to-end one of Papernot et al. 2021 for 28x28 images, and
    // the smaller one for ScatterNet features (81 C channels of 7x7), whose first convolution halves the resolution.
    private static LayerSpec[] Cnn(int[] shape)
    {
        LayerSpec[] head = [new("flatten") { Name = "flatten" }, new("linear") { Name = "fc1", Out = 32 }, new("tanh") { Name = "tanh3" }, new("linear") { Name = "out", Out = Classes }];
        if (shape is [_, 7, 7])
            return [new("conv2d") { Name = "conv1", Out = 16, Kernel = 3, Stride = 2, Padding = 1 }, new("tanh") { Name = "tanh1" },
                new("conv2d") { Name = "conv2", Out = 32, Kernel = 3, Padding = 1 }, new("tanh") { Name = "tanh2" }, .. head];
        if (shape is not [_, 28, 28])
            throw new ArgumentException($"model.kind \"cnn\" needs 28x28 images (shape [C, 28, 28]) or their ScatterNet features ([81 C, 7, 7]); this data has shape [{string.Join(", ", shape)}]: use \"mlp\", or give model.layers.");
        return [new("conv2d") { Name = "conv1", Out = 16, Kernel = 8, Stride = 2, Padding = 3 }, new("tanh") { Name = "tanh1" },
            new("max_pool2d") { Name = "pool1", Kernel = 2, Stride = 1 },
            new("conv2d") { Name = "conv2", Out = 32, Kernel = 4, Stride = 2 }, new("tanh") { Name = "tanh2" },
            new("max_pool2d") { Name = "pool2", Kernel = 2, Stride = 1 }, .. head];
    }
}
