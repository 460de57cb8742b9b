namespace FedGrains.Learning.Models;

/// <summary>
/// How many parameters <see cref="ModelFactory"/> would build for a spec, counted from the layer shapes without
/// allocating the model, so a site can refuse a huge model before anything is built.
/// </summary>
public static class ModelSize
{
    /// <summary>Every parameter of the model (frozen ones too), with the same shape rules as <see cref="ModelFactory.Create"/>.</summary>
    public static long Parameters(ModelSpec spec, int[] exampleShape, int classes) =>
        spec.Kind.ToLowerInvariant() switch
        {
            "mlp" => Dense(exampleShape.Aggregate(1L, (a, b) => a * b), spec.HiddenOrDefault, classes),
            "text" => (long)spec.Vocabulary * spec.EmbeddingDim + 2L * spec.EmbeddingDim + Dense(spec.EmbeddingDim, spec.HiddenOrDefault, classes),
            "cnn" => Cnn(exampleShape, classes),
            _ => throw new ArgumentException($"model.kind '{spec.Kind}' is not known: use \"mlp\", \"cnn\" or \"text\"."),
        };

    private static long Linear(long inputs, long outputs) => inputs * outputs + outputs;

    private static long Conv(long inputs, long outputs, long kernel) => inputs * outputs * kernel * kernel + outputs;

    private static long Dense(long inputs, int[] hidden, int classes)
    {
        long total = 0, width = inputs;
        foreach (var h in hidden)
        {
            total += Linear(width, h);
            width = h;
        }
        return total + Linear(width, classes);
    }

    // The two CNNs of ModelFactory: for ScatterNet features [81 C, 7, 7] and for 28x28 images (any other shape is refused there).
    private static long Cnn(int[] shape, int classes)
    {
        if (shape.Length != 3) throw new ArgumentException($"model.kind \"cnn\" needs images of shape [C, 28, 28] or ScatterNet features [81 C, 7, 7]; this data has shape [{string.Join(", ", shape)}].");
        long convolutions = shape[1] == 7 && shape[2] == 7
            ? Conv(shape[0], 16, 3) + Conv(16, 32, 3)
            : Conv(shape[0], 16, 8) + Conv(16, 32, 4);
        return convolutions + Linear(32 * 4 * 4, 32) + Linear(32, classes);
    }
}
