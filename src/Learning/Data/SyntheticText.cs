namespace FedGrains.Learning.Data;

/// <summary>
/// A seeded token-sequence task in the style of entity detection: each class owns a few "entity" tokens, and a
/// sequence is background tokens with some of its class's entity tokens mixed in. Stored as float token ids, shape [T].
/// </summary>
public static class SyntheticText
{
    private const int EntitiesPerClass = 5;
    private const double EntityRate = 0.15;

    public static (LabeledData Train, LabeledData Test) Generate(long seed, int trainCount, int testCount, int length, int vocabulary, int classes)
    {
        if (vocabulary < classes * EntitiesPerClass + 1)
            throw new ArgumentOutOfRangeException(nameof(vocabulary), $"the synthetic text task needs a vocabulary of at least {classes * EntitiesPerClass + 1} tokens for {classes} classes.");
        var rng = new Random(unchecked((int)(seed ^ (seed >> 32)) ^ 0x7E47));
        var tokens = Enumerable.Range(0, vocabulary).OrderBy(_ => rng.Next()).ToArray();
        var entities = Enumerable.Range(0, classes).Select(c => tokens.Skip(c * EntitiesPerClass).Take(EntitiesPerClass).ToArray()).ToArray();
        return (Sample(rng, entities, trainCount, length, vocabulary), Sample(rng, entities, testCount, length, vocabulary));
    }

    private static LabeledData Sample(Random rng, int[][] entities, int count, int length, int vocabulary)
    {
        var x = new float[count * length];
        var y = new int[count];
        for (int i = 0; i < count; i++)
        {
            int c = rng.Next(entities.Length);
            y[i] = c;
            int anchor = rng.Next(length); // every sequence mentions its entity at least once
            for (int t = 0; t < length; t++)
                x[i * length + t] = t == anchor || rng.NextDouble() < EntityRate
                    ? entities[c][rng.Next(entities[c].Length)]
                    : rng.Next(vocabulary);
        }
        return new LabeledData(x, y, [length], entities.Length);
    }
}
