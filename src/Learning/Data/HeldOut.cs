namespace FedGrains.Learning.Data;

/// <summary>A seeded split of one site's examples into those it trains on and those it keeps for its own evaluation.</summary>
public static class HeldOut
{
    /// <summary>
    /// round(<paramref name="fraction"/> x n) examples (at least one) held out, the rest to train on, both chosen by a
    /// shuffle seeded by <paramref name="seed"/>: the same site data and seed always give the same split.
    /// </summary>
    public static (LabeledData Train, LabeledData HeldOut) Split(LabeledData data, double fraction, int seed)
    {
        int held = Math.Max(1, (int)Math.Round(fraction * data.Count));
        if (data.Count - held < 1)
            throw new ArgumentException($"{data.Count} example(s) are too few to hold {held} out for the site's own evaluation and train on the rest; lower personalization.held_out_fraction or give the site more data.");
        var order = Enumerable.Range(0, data.Count).ToArray();
        new Random(seed).Shuffle(order);
        // Sorted within each part: each part keeps the site's order of its examples.
        return (data.Subset([.. order[held..].Order()]), data.Subset([.. order[..held].Order()]));
    }
}
