using System.Globalization;
using FedGrains.Learning.Datasets;
using FedGrains.Learning.Models;
using FedGrains.Learning.Training;

namespace FedGrains.Learning.Jobs;

/// <summary>
/// What a job will allocate, estimated from its spec before anything is allocated, so a size that cannot fit (a
/// hidden width of 2e9, a billion synthetic features, a huge vocabulary) is refused with the estimate instead of
/// crashing in libtorch's allocator. The estimates count the large buffers only, so they are lower bounds: a job
/// refused here could never have run.
/// </summary>
public static class MemoryEstimate
{
    /// <summary>Memory this process may use: the machine's, or the container's limit (the GC reads cgroups).</summary>
    public static long Available => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>The shared synthetic dataset as generated: float features (or int64 token ids) and int64 labels.</summary>
    public static double SyntheticData(DatasetSpec d) => d.Kind switch
    {
        "synthetic" => ((double)d.SyntheticTrainExamples + d.SyntheticTestExamples) * ((double)d.SyntheticFeatures * sizeof(float) + sizeof(long)),
        "synthetic-text" => ((double)d.SyntheticTrainExamples + d.SyntheticTestExamples) * ((double)d.SyntheticSequenceLength * sizeof(long) + sizeof(long)),
        _ => 0,
    };

    /// <summary>
    /// One gateway's training: weights, gradients, the global copy and the delta (4 float copies of the model), Adam's
    /// two moments or SGD's momentum, and each step's activations with their gradients for the expected batch.
    /// </summary>
    public static double Training(ModelSpec model, int[] exampleShape, int classes, HyperParameters h)
    {
        var plan = ModelFactory.Plan(model, exampleShape, classes);
        double copies = 4 + (h.Optimizer == "adam" ? 2 : h.Momentum > 0 ? 1 : 0);
        double parameters = plan.Sum(l => (double)l.Parameters);
        // Every layer's output is a new tensor, except flatten's (a view of its input).
        double widths = exampleShape.Aggregate(1.0, (a, b) => a * b) + Widths(plan);
        return copies * parameters * sizeof(float) + 2.0 * h.BatchSize * widths * sizeof(float);
    }

    // A residual block's body makes its own outputs, and the block one more (the sum).
    private static double Widths(IEnumerable<PlannedLayer> layers) =>
        layers.Where(l => l.Spec.Type != "flatten").Sum(l => l.Output.Aggregate(1.0, (a, b) => a * b) + (l.Body is null ? 0 : Widths(l.Body)));

    /// <summary>The federation's round: the model, its aggregation state and every cohort member's decoded delta at once.</summary>
    public static double Federation(long parameters, int cohort) => (4.0 + cohort) * parameters * sizeof(float);

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="bytes"/> exceed what this process may use.</summary>
    public static void Check(double bytes, string what, string fix)
    {
        long available = Available;
        if (bytes <= available) return;
        throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
            $"{what} needs at least {Gb(bytes)} of memory and this machine gives the process {Gb(available)}: {fix}"));
    }

    /// <summary>The model's size and one gateway's training, checked together (the gateway's own data is already loaded).</summary>
    public static void CheckGateway(JobSpec spec, HyperParameters h, int[] exampleShape, int classes, string gatewayId)
    {
        long parameters = ModelSize.Parameters(spec.Model, exampleShape, classes);
        Check(Training(spec.Model, exampleShape, classes, h), string.Create(CultureInfo.InvariantCulture,
            $"gateway '{gatewayId}': training the {spec.Model.KindOrDefault} model ({parameters:N0} parameters, batch {h.BatchSize})"),
            "make model.hidden or model.layers (or model.vocabulary / embedding_dim) or batch_size smaller.");
    }

    private static string Gb(double bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1L << 30):0.##} GiB");
}
