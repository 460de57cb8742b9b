using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch.nn;
using static TorchSharp.torch;

namespace FedGrains.Learning.Models;

/// <summary>Builds the models FedGrains trains. Every trainable layer is one DP-SGD can clip per example (see PerExampleClipping).</summary>
public static class ModelFactory
{
    private static readonly object SeedLock = new();

    /// <summary>Creates the model for <paramref name="spec"/>, initialised deterministically from <paramref name="seed"/>.</summary>
    public static Sequential Create(ModelSpec spec, int[] exampleShape, int classes, long seed)
    {
        // Module initialisers draw from torch's global generator; serialise so concurrent builds stay reproducible.
        Sequential model;
        lock (SeedLock)
        {
            torch.manual_seed(seed);
            model = spec.Kind.ToLowerInvariant() switch
            {
                "mlp" => Mlp(exampleShape, spec.HiddenOrDefault, spec.Activation, classes),
                "cnn" => Cnn(exampleShape, classes),
                "text" => Text(spec, classes),
                _ => throw new ArgumentException($"model.kind '{spec.Kind}' is not known: use \"mlp\", \"cnn\" or \"text\"."),
            };
        }
        Freeze(model, spec.Frozen ?? []);
        return model;
    }

    /// <summary>True when the parameter named <paramref name="name"/> is frozen by one of the prefixes.</summary>
    public static bool IsFrozen(string name, IReadOnlyCollection<string> frozen) =>
        frozen.Any(prefix => name == prefix || name.StartsWith(prefix + ".", StringComparison.Ordinal));

    private static void Freeze(Sequential model, string[] frozen)
    {
        if (frozen.Length == 0) return;
        var names = model.named_parameters().Select(p => p.name).ToArray();
        foreach (var prefix in frozen)
            if (!names.Any(n => IsFrozen(n, [prefix])))
                throw new ArgumentException($"model.frozen: '{prefix}' matches no parameter; this model has {string.Join(", ", names)}.");
        if (names.All(n => IsFrozen(n, frozen))) throw new ArgumentException("model.frozen freezes every parameter: leave at least one layer trainable.");
        foreach (var (name, p) in model.named_parameters())
            if (IsFrozen(name, frozen)) p.requires_grad = false;
    }

    private static Sequential Mlp(int[] exampleShape, int[] hidden, string activation, int classes)
    {
        if (hidden.Any(h => h < 1)) throw new ArgumentException("model.hidden widths must be >= 1.");
        int inputs = exampleShape.Aggregate(1, (a, b) => a * b);
        var layers = new List<(string, Module<Tensor, Tensor>)> { ("flatten", Flatten()) };
        int width = inputs;
        for (int k = 0; k < hidden.Length; k++)
        {
            layers.Add(($"fc{k + 1}", Linear(width, hidden[k])));
            layers.Add(activation switch
            {
                "relu" => ($"relu{k + 1}", ReLU()),
                "tanh" => ($"tanh{k + 1}", Tanh()),
                _ => throw new ArgumentException($"model.activation '{activation}' is not known: use \"relu\" or \"tanh\"."),
            });
            width = hidden[k];
        }
        layers.Add(("out", Linear(width, classes)));
        return Sequential(layers);
    }

    // Token classification in the entity-detection style: embedding, mean over tokens, LayerNorm, tanh MLP. Every
    // trainable layer (Embedding, LayerNorm, Linear) has per-example norms without materialised gradients.
    private static Sequential Text(ModelSpec spec, int classes)
    {
        if (spec.Vocabulary < 2 || spec.EmbeddingDim < 1) throw new ArgumentException("model.vocabulary must be >= 2 and model.embedding_dim >= 1.");
        var layers = new List<(string, Module<Tensor, Tensor>)>
        {
            ("ids", new TokenIds()),
            ("embed", Embedding(spec.Vocabulary, spec.EmbeddingDim)),
            ("pool", new MeanOverTokens()),
            ("norm", LayerNorm(spec.EmbeddingDim)),
        };
        int width = spec.EmbeddingDim;
        for (int k = 0; k < spec.HiddenOrDefault.Length; k++)
        {
            layers.Add(($"fc{k + 1}", Linear(width, spec.HiddenOrDefault[k])));
            layers.Add(($"tanh{k + 1}", Tanh()));
            width = spec.HiddenOrDefault[k];
        }
        layers.Add(("out", Linear(width, classes)));
        return Sequential(layers);
    }

    // Tramer & Boneh 2021's CNNs (tanh activations): the end-to-end one of Papernot et al. 2021 for 28x28 images, and
    // the smaller one for ScatterNet features (81 C channels of 7x7), whose first convolution halves the resolution.
    private static Sequential Cnn(int[] exampleShape, int classes)
    {
        if (exampleShape.Length == 3 && exampleShape[1] == 7 && exampleShape[2] == 7)
            return Sequential(
                ("conv1", Conv2d(exampleShape[0], 16, 3, stride: 2, padding: 1)),
                ("tanh1", Tanh()),
                ("conv2", Conv2d(16, 32, 3, stride: 1, padding: 1)),
                ("tanh2", Tanh()),
                ("flatten", Flatten()),
                ("fc1", Linear(32 * 4 * 4, 32)),
                ("tanh3", Tanh()),
                ("out", Linear(32, classes)));
        if (exampleShape.Length != 3 || exampleShape[1] != 28 || exampleShape[2] != 28)
            throw new ArgumentException($"model.kind \"cnn\" needs 28x28 images (shape [C, 28, 28]) or their ScatterNet features ([81 C, 7, 7]); this data has shape [{string.Join(", ", exampleShape)}]: use \"mlp\".");
        return Sequential(
            ("conv1", Conv2d(exampleShape[0], 16, 8, stride: 2, padding: 3)),
            ("tanh1", Tanh()),
            ("pool1", MaxPool2d(2, 1)),
            ("conv2", Conv2d(16, 32, 4, stride: 2)),
            ("tanh2", Tanh()),
            ("pool2", MaxPool2d(2, 1)),
            ("flatten", Flatten()),
            ("fc1", Linear(32 * 4 * 4, 32)),
            ("tanh3", Tanh()),
            ("out", Linear(32, classes)));
    }
}
