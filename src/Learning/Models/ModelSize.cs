namespace FedGrains.Learning.Models;

/// <summary>
/// How many parameters <see cref="ModelFactory"/> would build for a spec, counted from the layer shapes without
/// allocating the model, so a site can refuse a huge model before anything is built.
/// </summary>
public static class ModelSize
{
    /// <summary>Every parameter of the model (frozen ones too).</summary>
    /// <exception cref="ArgumentException">The spec's layers do not fit the data.</exception>
    public static long Parameters(ModelSpec spec, int[] exampleShape, int classes) =>
        ModelFactory.Plan(spec, exampleShape, classes).Sum(l => l.Parameters);
}
