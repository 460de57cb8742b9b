using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Data;

/// <summary>
/// Examples in memory: row-major features (one row of <see cref="FeatureCount"/> floats per example), integer labels
/// in [0, <see cref="Classes"/>), and the per-example shape the model sees (e.g. [1, 28, 28] or [20]).
/// </summary>
public sealed class LabeledData
{
    public LabeledData(float[] features, int[] labels, int[] exampleShape, int classes)
    {
        FeatureCount = exampleShape.Aggregate(1, (a, b) => a * b);
        if (FeatureCount <= 0) throw new ArgumentException("example shape must be positive.", nameof(exampleShape));
        if (features.Length != labels.Length * FeatureCount)
            throw new ArgumentException($"{features.Length} feature values do not make {labels.Length} examples of {FeatureCount} features.");
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] < 0 || labels[i] >= classes)
                throw new ArgumentException($"the label of example {i} is outside [0, {classes})."); // not the value: it can be a site's data
        Features = features;
        Labels = labels;
        ExampleShape = exampleShape;
        Classes = classes;
    }

    public float[] Features { get; }
    public int[] Labels { get; }
    public int[] ExampleShape { get; }
    public int FeatureCount { get; }
    public int Classes { get; }
    public int Count => Labels.Length;

    /// <summary>The examples at <paramref name="indices"/> as a new in-memory set.</summary>
    public LabeledData Subset(IReadOnlyList<int> indices)
    {
        var f = new float[indices.Count * FeatureCount];
        var l = new int[indices.Count];
        for (int k = 0; k < indices.Count; k++)
        {
            Array.Copy(Features, (long)indices[k] * FeatureCount, f, (long)k * FeatureCount, FeatureCount);
            l[k] = Labels[indices[k]];
        }
        return new LabeledData(f, l, ExampleShape, Classes);
    }

    /// <summary>All examples as tensors (features shaped [N, ..ExampleShape], labels int64) on <paramref name="device"/>.</summary>
    public (Tensor Features, Tensor Labels) ToTensors(Device? device = null)
    {
        var shape = new long[] { Count }.Concat(ExampleShape.Select(s => (long)s)).ToArray();
        var x = torch.tensor(Features, shape, dtype: ScalarType.Float32, device: device);
        var y = torch.tensor(Labels.Select(v => (long)v).ToArray(), dtype: ScalarType.Int64, device: device);
        return (x, y);
    }
}
