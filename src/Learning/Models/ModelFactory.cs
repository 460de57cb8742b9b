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
    /// <exception cref="ArgumentException">The spec's layers do not fit the data (every problem named).</exception>
    public static Sequential Create(ModelSpec spec, int[] exampleShape, int classes, long seed)
    {
        var plan = Plan(spec, exampleShape, classes);
        // Module initialisers draw from torch's global generator; serialise so concurrent builds stay reproducible.
        Sequential model;
        lock (SeedLock)
        {
            torch.manual_seed(seed);
            var modules = new List<(string, Module<Tensor, Tensor>)>();
            foreach (var layer in plan)
            {
                // Token ids arrive as floats; the embedding needs them as int64 first (no parameters, so no name clash to mind).
                if (layer.Spec.Type == "embedding") modules.Add(("ids", new TokenIds()));
                modules.Add((layer.Name, Module(layer)));
            }
            model = Sequential(modules);
        }
        Freeze(model, spec.Frozen ?? []);
        return model;
    }

    /// <summary>The layers <see cref="Create"/> builds for <paramref name="spec"/>, with their shapes and parameter counts.</summary>
    public static IReadOnlyList<PlannedLayer> Plan(ModelSpec spec, int[] exampleShape, int classes) =>
        ModelLayout.Plan(ModelPresets.ForClasses(ModelPresets.Layers(spec, exampleShape), classes), exampleShape, classes);

    /// <summary>True when the parameter named <paramref name="name"/> is one of the prefixes' (model.frozen, model.local): the name itself or under it.</summary>
    public static bool MatchesPrefix(string name, IReadOnlyCollection<string> prefixes) =>
        prefixes.Any(prefix => name == prefix || name.StartsWith(prefix + ".", StringComparison.Ordinal));

    private static void Freeze(Sequential model, string[] frozen)
    {
        if (frozen.Length == 0) return;
        var names = model.named_parameters().Select(p => p.name).ToArray();
        foreach (var prefix in frozen)
            if (!names.Any(n => MatchesPrefix(n, [prefix])))
                throw new ArgumentException($"model.frozen: '{prefix}' matches no parameter; this model has {string.Join(", ", names)}.");
        if (names.All(n => MatchesPrefix(n, frozen))) throw new ArgumentException("model.frozen freezes every parameter: leave at least one layer trainable.");
        foreach (var (name, p) in model.named_parameters())
            if (MatchesPrefix(name, frozen)) p.requires_grad = false;
    }

    private static Module<Tensor, Tensor> Module(PlannedLayer layer)
    {
        var l = layer.Spec;
        return l.Type switch
        {
            "linear" => Linear(layer.Input[^1], l.Out!.Value),
            "conv2d" => Conv2d(layer.Input[0], l.Out!.Value, l.Kernel!.Value, stride: l.Stride ?? 1, padding: l.Padding ?? 0),
            "max_pool2d" => MaxPool2d(l.Kernel!.Value, l.Stride ?? l.Kernel!.Value, l.Padding ?? 0),
            "avg_pool2d" => AvgPool2d(l.Kernel!.Value, l.Stride ?? l.Kernel!.Value, l.Padding ?? 0),
            "flatten" => Flatten(),
            "dropout" => Dropout(l.P!.Value),
            "embedding" => Embedding(l.Vocabulary!.Value, l.Dim!.Value),
            "mean_tokens" => new MeanOverTokens(),
            "layer_norm" => LayerNorm(layer.Input[^1]),
            "group_norm" => GroupNorm(l.Groups!.Value, layer.Input[0]),
            "relu" => ReLU(),
            "tanh" => Tanh(),
            "gelu" => GELU(),
            "sigmoid" => Sigmoid(),
            "residual" => new ResidualBlock([.. layer.Body!.Select(inner => (inner.Name, Module(inner)))]),
            var type => throw new ArgumentException($"layer type '{type}' has no module."), // ModelLayout.Types and this switch name the same types
        };
    }
}
