using FedGrains.Learning.Codecs;

namespace FedGrains.Learning.Models;

/// <summary>
/// Puts a model's starting weights (model.initial_weights, e.g. trained in PyTorch) onto its parameters: each of the
/// file's tensors is matched by name, after model.initial_weights_rename, and must have the parameter's shape. Any
/// mismatch is refused with both lists, because a silent partial load (some layers random, some pretrained) would
/// train something other than what was asked.
/// </summary>
public static class InitialWeights
{
    /// <summary>Lines of a list shown in a refusal; a model of thousands of tensors is cut after these.</summary>
    private const int Listed = 40;

    /// <summary>The file's values in the model's flat order (<see cref="ModelWeights.Layout"/>).</summary>
    /// <exception cref="ArgumentException">Names or shapes differ, or a value is not finite; the message lists the model's and the file's tensors.</exception>
    public static float[] Map(IReadOnlyList<NamedTensor> model, IReadOnlyList<SafetensorsTensor> file, IReadOnlyDictionary<string, string>? rename)
    {
        var byName = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var tensor in file)
        {
            var name = Renamed(tensor.Name, rename);
            if (!byName.TryAdd(name, tensor))
                problems.Add($"the file's '{Safetensors.Shown(tensor.Name)}' and '{Safetensors.Shown(byName[name].Name)}' both become '{Safetensors.Shown(name)}'");
        }
        var missing = model.Where(p => !byName.ContainsKey(p.Name)).Select(p => p.Name).ToArray();
        var modelNames = model.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var extra = byName.Keys.Where(n => !modelNames.Contains(n)).ToArray();
        if (missing.Length > 0) problems.Add($"the file has no {Names(missing)}");
        if (extra.Length > 0) problems.Add($"the model has no {Names(extra)}");
        foreach (var p in model)
            if (byName.TryGetValue(p.Name, out var t) && !t.Shape.SequenceEqual(p.Shape))
                problems.Add($"'{p.Name}' is [{string.Join(", ", t.Shape)}] in the file but [{string.Join(", ", p.Shape)}] in the model");
        if (problems.Count > 0)
            throw new ArgumentException($"model.initial_weights does not fit the model: {string.Join("; ", problems)}. The model has {List(model.Select(p => (p.Name, p.Shape)))}. " +
                $"The file has {List(file.Select(t => (Renamed(t.Name, rename), t.Shape)))}. Name the layers after the file's tensors (model.layers[].name), " +
                "or map the file's prefixes onto them with model.initial_weights_rename, e.g. {\"features.0\": \"conv1\"}.");

        var flat = new float[model.Sum(p => p.Shape.Aggregate(1L, (a, b) => a * b))];
        long offset = 0;
        foreach (var p in model)
        {
            var values = byName[p.Name].Values;
            if (Array.FindIndex(values, v => !float.IsFinite(v)) is var bad and >= 0)
                throw new ArgumentException($"model.initial_weights: '{p.Name}' holds a value that is not finite (NaN or infinity) at index {bad}; export weights of a model that trained without diverging.");
            values.CopyTo(flat, offset);
            offset += values.Length;
        }
        return flat;
    }

    /// <summary>The name with its longest matching prefix (a whole dotted part: "features.0" maps "features.0.weight", not "features.01.weight") replaced.</summary>
    public static string Renamed(string name, IReadOnlyDictionary<string, string>? rename)
    {
        if (rename is null) return name;
        foreach (var (from, to) in rename.OrderByDescending(r => r.Key.Length))
            if (name == from) return to;
            else if (name.StartsWith(from + ".", StringComparison.Ordinal)) return to + name[from.Length..];
        return name;
    }

    private static string Names(string[] names) =>
        string.Join(", ", names.Take(Listed).Select(n => $"'{Safetensors.Shown(n)}'")) + (names.Length > Listed ? $" and {names.Length - Listed} more" : "");

    private static string List(IEnumerable<(string Name, long[] Shape)> tensors)
    {
        var all = tensors.ToArray();
        if (all.Length == 0) return "no tensor";
        return string.Join(", ", all.Take(Listed).Select(t => $"{Safetensors.Shown(t.Name)} [{string.Join(", ", t.Shape)}]")) + (all.Length > Listed ? $" and {all.Length - Listed} more" : "");
    }
}
