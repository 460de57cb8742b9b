using TorchSharp.Modules;

namespace FedGrains.Learning.Models;

/// <summary>
/// A model's personal layers (<see cref="ModelSpec.Local"/>) in its flat weight array: where they sit, taken out of a
/// trained model and put back into the global one. Pure bookkeeping over <see cref="ModelWeights"/>' order.
/// </summary>
public sealed class LocalLayers
{
    private readonly (int Offset, int Length)[] ranges;

    private LocalLayers((int, int)[] ranges) => this.ranges = ranges;

    /// <summary>The values the local layers hold.</summary>
    public int Count => ranges.Sum(r => r.Length);

    /// <summary>The local layers of <paramref name="model"/> as <paramref name="spec"/> lists them (none when it lists none).</summary>
    public static LocalLayers Of(Sequential model, ModelSpec spec)
    {
        var local = spec.Local ?? [];
        var found = new List<(int, int)>();
        int offset = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            int n = (int)p.numel();
            if (ModelFactory.MatchesPrefix(name, local)) found.Add((offset, n));
            offset += n;
        }
        return new LocalLayers([.. found]);
    }

    /// <summary>Whether the flat index <paramref name="i"/> belongs to a local layer.</summary>
    public bool Contains(int i) => ranges.Any(r => i >= r.Offset && i < r.Offset + r.Length);

    /// <summary>The local layers' values in <paramref name="weights"/>.</summary>
    public float[] Extract(ReadOnlySpan<float> weights)
    {
        var head = new float[Count];
        int at = 0;
        foreach (var (offset, length) in ranges)
        {
            weights.Slice(offset, length).CopyTo(head.AsSpan(at));
            at += length;
        }
        return head;
    }

    /// <summary>Puts <paramref name="head"/> (from <see cref="Extract"/>) into <paramref name="weights"/> in place.</summary>
    public void Apply(Span<float> weights, ReadOnlySpan<float> head)
    {
        if (head.Length != Count)
            throw new ArgumentException($"the stored local layers hold {head.Length} values but this model's local layers have {Count}.");
        int at = 0;
        foreach (var (offset, length) in ranges)
        {
            head.Slice(at, length).CopyTo(weights.Slice(offset, length));
            at += length;
        }
    }
}
