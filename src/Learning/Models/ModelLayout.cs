using System.Globalization;

namespace FedGrains.Learning.Models;

/// <summary>One layer with the shapes it takes and gives (one example's, without the batch axis) and its parameter count.</summary>
/// <param name="Body">A residual block's layers, planned on its input (null for every other type).</param>
public sealed record PlannedLayer(string Name, LayerSpec Spec, int[] Input, int[] Output, long Parameters, IReadOnlyList<PlannedLayer>? Body = null);

/// <summary>
/// A layer list's shapes, worked out without building anything (no TorchSharp): each layer's fields are checked, its
/// output shape inferred from its input, and the parameters counted, so a job is refused at submission with every
/// problem named, and its parameter count known before a site loads a model.
/// </summary>
public static class ModelLayout
{
    /// <summary>The layer types a list may use, all of which per-example clipping supports (or which have no parameters).</summary>
    public static readonly IReadOnlyList<string> Types =
        ["linear", "conv2d", "max_pool2d", "avg_pool2d", "flatten", "dropout", "embedding", "mean_tokens", "layer_norm", "group_norm", "relu", "tanh", "gelu", "sigmoid", "residual"];

    public const int MaxLayers = 256;

    /// <summary>The fields each type takes beyond type and name (required ones first).</summary>
    private static readonly Dictionary<string, string[]> Fields = new()
    {
        ["linear"] = ["out"],
        ["conv2d"] = ["out", "kernel", "stride", "padding"],
        ["max_pool2d"] = ["kernel", "stride", "padding"],
        ["avg_pool2d"] = ["kernel", "stride", "padding"],
        ["dropout"] = ["p"],
        ["embedding"] = ["vocabulary", "dim"],
        ["group_norm"] = ["groups"],
        ["residual"] = ["layers"],
    };

    private static readonly Dictionary<string, string[]> Required = new()
    {
        ["linear"] = ["out"], ["conv2d"] = ["out", "kernel"], ["max_pool2d"] = ["kernel"], ["avg_pool2d"] = ["kernel"],
        ["dropout"] = ["p"], ["embedding"] = ["vocabulary", "dim"], ["group_norm"] = ["groups"], ["residual"] = ["layers"],
    };

    /// <summary>The problems of a list that do not depend on the data's shape: types, fields, ranges, names.</summary>
    public static IReadOnlyList<string> Problems(IReadOnlyList<LayerSpec?> layers)
    {
        var p = new List<string>();
        int count = layers.Sum(l => 1 + (l?.Layers?.Length ?? 0));
        if (count > MaxLayers) { p.Add($"model.layers: {count} layers (with those in residual blocks) are more than {MaxLayers}; a model this deep does not train under DP-SGD, and the list is refused before anything is built."); return p; }
        Problems(layers, "model.layers", inBlock: false, p);
        return p;
    }

    private static void Problems(IReadOnlyList<LayerSpec?> layers, string path, bool inBlock, List<string> p)
    {
        if (layers.Count == 0)
            p.Add(inBlock ? $"{path}: [] has no layer; a residual block needs at least one, e.g. [{{\"type\": \"linear\", \"out\": 64}}]."
                : $"{path}: [] has no layer; list at least the output layer, e.g. [{{\"type\": \"flatten\"}}, {{\"type\": \"linear\", \"out\": 10}}].");
        // The module that turns token ids into int64 before an embedding is named "ids" (ModelFactory).
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (layers.Any(l => l?.Type == "embedding")) names.Add("ids");
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i] is not { } layer) { p.Add($"{path}[{i}]: is null; give an object with a \"type\"."); continue; }
            var at = $"{path}[{i}] ({layer.Type})";
            var type = layer.Type;
            if (type is null) { p.Add($"{path}[{i}]: has no \"type\"; use one of {string.Join(", ", Types)}."); continue; }
            if (type.Replace("_", "").StartsWith("batchnorm", StringComparison.OrdinalIgnoreCase))
            {
                p.Add($"{at}: batch normalisation mixes the examples of a batch, so one example's gradient depends on the others and per-example clipping no longer bounds it; use group_norm (after conv2d) or layer_norm instead.");
                continue;
            }
            if (!Types.Contains(type))
            {
                p.Add($"{path}[{i}]: type '{Shown(type)}' is not known; use one of {string.Join(", ", Types)}.");
                continue;
            }
            var takes = Fields.GetValueOrDefault(type, []);
            foreach (var (field, given) in Given(layer))
                if (given && !takes.Contains(field))
                    p.Add($"{at}: takes no \"{field}\"" + (takes.Length == 0 ? "." : $"; it takes {string.Join(", ", takes)}."));
            foreach (var field in Required.GetValueOrDefault(type, []))
                if (!Given(layer).Single(f => f.Field == field).Given) p.Add($"{at}: needs \"{field}\".");
            if (layer.Out is < 1) p.Add($"{at}: out {layer.Out} must be >= 1.");
            if (layer.Kernel is < 1) p.Add($"{at}: kernel {layer.Kernel} must be >= 1.");
            if (layer.Stride is < 1) p.Add($"{at}: stride {layer.Stride} must be >= 1.");
            if (layer.Padding is < 0) p.Add($"{at}: padding {layer.Padding} must be >= 0.");
            if (type is "max_pool2d" or "avg_pool2d" && layer.Padding > layer.Kernel / 2) p.Add($"{at}: padding {layer.Padding} must be at most half the kernel ({layer.Kernel / 2}).");
            if (layer.Groups is < 1) p.Add($"{at}: groups {layer.Groups} must be >= 1.");
            if (layer.P is { } drop && !(drop >= 0 && drop < 1)) p.Add($"{at}: p {drop.ToString(CultureInfo.InvariantCulture)} must be in [0, 1).");
            if (layer.Vocabulary is < 2) p.Add($"{at}: vocabulary {layer.Vocabulary} must be >= 2.");
            if (layer.Dim is < 1) p.Add($"{at}: dim {layer.Dim} must be >= 1.");
            if (type == "embedding" && (i != 0 || inBlock)) p.Add($"{at}: an embedding reads token ids, which only the data gives: it must be the first layer.");
            if (type == "residual" && layer.Layers is { } body)
            {
                if (inBlock) p.Add($"{at}: a residual block inside a residual block is not supported; list its layers in the outer block.");
                else Problems(body, $"{at[..at.IndexOf(' ')]}.layers", inBlock: true, p);
            }
            var name = NameOf(layer, i);
            if (!IsName(name)) p.Add($"{at}: name '{Shown(name)}' must be 1-64 letters, digits or '_' (it becomes '{Shown(name)}.weight').");
            else if (!names.Add(name)) p.Add(name == "ids" ? $"{at}: name 'ids' is taken by the token-id conversion before the embedding; choose another." : $"{at}: name '{name}' is used by an earlier layer; names must be unique.");
        }
    }

    /// <summary>The layers with their shapes, for examples of <paramref name="exampleShape"/> and <paramref name="classes"/> outputs.</summary>
    /// <exception cref="ArgumentException">Naming every problem: a field, a shape that does not fit, or an output that is not [classes].</exception>
    public static IReadOnlyList<PlannedLayer> Plan(IReadOnlyList<LayerSpec> layers, int[] exampleShape, int classes)
    {
        var problems = Problems(layers);
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems));
        var planned = PlanList(layers, exampleShape, "model.layers");
        var shape = planned[^1].Output;
        if (!shape.SequenceEqual([classes]))
            throw new ArgumentException($"model.layers: the last layer gives [{Shape(shape)}] per example, but the data has {classes} classes: end with {{\"type\": \"linear\", \"out\": {classes}}}" +
                (shape.Length > 1 ? " after a flatten (or mean_tokens)." : "."));
        return planned;
    }

    private static List<PlannedLayer> PlanList(IReadOnlyList<LayerSpec> layers, int[] input, string path)
    {
        var planned = new List<PlannedLayer>();
        int[] shape = input;
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var at = $"{path}[{i}] ({layer.Type})";
            int[] output;
            long parameters;
            List<PlannedLayer>? body = null;
            try
            {
                if (layer.Type == "residual")
                {
                    body = PlanList(layer.Layers!, shape, $"{path}[{i}].layers");
                    (output, parameters) = (body[^1].Output, body.Sum(l => l.Parameters));
                    if (!output.SequenceEqual(shape))
                        throw new ArgumentException($"{at}: its layers give [{Shape(output)}] per example, but its input is [{Shape(shape)}]: the block adds its layers' output to its input, so they must keep its shape ({(shape.Length == 3 ? $"e.g. conv2d with out {shape[0]}, kernel 3, padding 1" : $"e.g. a last linear with out {shape[^1]}")}).");
                }
                else (output, parameters) = Infer(layer, shape, at);
            }
            catch (OverflowException) { throw new ArgumentException($"{at}: its output [{Shape(shape)}] flattened is more than 2^31 values; make the layers before it smaller."); }
            planned.Add(new PlannedLayer(NameOf(layer, i), layer, shape, output, parameters, body));
            shape = output;
        }
        return planned;
    }

    private static (int[] Output, long Parameters) Infer(LayerSpec layer, int[] input, string at)
    {
        switch (layer.Type)
        {
            case "linear":
                if (input.Length == 0) throw new ArgumentException($"{at}: needs features to act on, but gets a scalar.");
                return ([.. input[..^1], layer.Out!.Value], (long)input[^1] * layer.Out!.Value + layer.Out!.Value);
            case "conv2d":
            {
                var (c, h, w) = Image(input, at);
                int k = layer.Kernel!.Value, s = layer.Stride ?? 1, pad = layer.Padding ?? 0;
                return ([layer.Out!.Value, Slide(h, k, s, pad, at), Slide(w, k, s, pad, at)], (long)c * layer.Out!.Value * k * k + layer.Out!.Value);
            }
            case "max_pool2d" or "avg_pool2d":
            {
                var (c, h, w) = Image(input, at);
                int k = layer.Kernel!.Value, s = layer.Stride ?? k, pad = layer.Padding ?? 0;
                return ([c, Slide(h, k, s, pad, at), Slide(w, k, s, pad, at)], 0);
            }
            case "flatten":
                return ([input.Aggregate(1, (a, b) => checked(a * b))], 0);
            case "embedding":
                if (input.Length != 1) throw new ArgumentException($"{at}: needs token ids [tokens] per example, but the data gives [{Shape(input)}]: an embedding is for token data (dataset.kind \"synthetic-text\").");
                return ([input[0], layer.Dim!.Value], (long)layer.Vocabulary!.Value * layer.Dim!.Value);
            case "mean_tokens":
                if (input.Length != 2) throw new ArgumentException($"{at}: averages over tokens [tokens, width], but gets [{Shape(input)}]: put it after an embedding.");
                return ([input[1]], 0);
            case "layer_norm":
                if (input.Length == 0) throw new ArgumentException($"{at}: needs features to normalise, but gets a scalar.");
                return (input, 2L * input[^1]);
            case "group_norm":
                if (input.Length == 0 || input[0] % layer.Groups!.Value != 0)
                    throw new ArgumentException($"{at}: groups {layer.Groups} must divide the {(input.Length == 0 ? 0 : input[0])} channels of its input [{Shape(input)}].");
                return (input, 2L * input[0]);
            default: // activations and dropout keep the shape
                return (input, 0);
        }
    }

    private static (int C, int H, int W) Image(int[] input, string at) => input.Length == 3
        ? (input[0], input[1], input[2])
        : throw new ArgumentException($"{at}: needs images [channels, height, width] per example, but gets [{Shape(input)}]: convolutions and pooling come before flatten, on image data.");

    /// <summary>Positions of a sliding window (PyTorch's floor((n + 2 padding - kernel) / stride) + 1).</summary>
    private static int Slide(int n, int kernel, int stride, int padding, string at)
    {
        int padded = n + 2 * padding;
        if (kernel > padded) throw new ArgumentException($"{at}: kernel {kernel} is larger than its input ({n}, padded to {padded}).");
        return (padded - kernel) / stride + 1;
    }

    private static string NameOf(LayerSpec layer, int index) => layer.Name ?? index.ToString(CultureInfo.InvariantCulture);

    private static bool IsName(string name) => name.Length is >= 1 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static IEnumerable<(string Field, bool Given)> Given(LayerSpec l) =>
    [
        ("out", l.Out is not null), ("kernel", l.Kernel is not null), ("stride", l.Stride is not null), ("padding", l.Padding is not null),
        ("groups", l.Groups is not null), ("p", l.P is not null), ("vocabulary", l.Vocabulary is not null), ("dim", l.Dim is not null),
        ("layers", l.Layers is not null),
    ];

    private static string Shape(int[] shape) => string.Join(", ", shape);

    /// <summary>A name as it may be shown: at most 40 printable characters (a spec is user input).</summary>
    private static string Shown(string s) => new string(s.Take(40).Select(c => char.IsControl(c) ? '?' : c).ToArray()) + (s.Length > 40 ? "..." : "");
}
