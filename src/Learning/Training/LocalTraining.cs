using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Training;

/// <summary>A gateway's round: start from the global weights, run DP-SGD on local data, return the delta.</summary>
public static class LocalTraining
{
    /// <summary>
    /// Trains a copy of the global model and returns new weights minus <paramref name="globalWeights"/>, and the
    /// training loss to release: with <paramref name="metrics"/> "noised", the trained model's DP loss on the local
    /// data (see <see cref="PrivateLoss"/>); otherwise NaN, since the plain loss would leak.
    /// </summary>
    public static (float[] Delta, LocalRunResult Run, double ReleasedLoss) Run(ModelSpec modelSpec, Tensor x, Tensor y, int classes,
        float[] globalWeights, TrainerSettings settings, Random sampler, INoiseSource noise, TrainMetricsSpec? metrics = null, INoiseSource? metricNoise = null,
        CancellationToken cancellationToken = default)
    {
        var exampleShape = x.shape.Skip(1).Select(s => (int)s).ToArray();
        using var model = ModelFactory.Create(modelSpec, exampleShape, classes, seed: 0);
        model.to(x.device);
        ModelWeights.Write(model, globalWeights);
        using var trainer = new DpSgdTrainer(model, settings, sampler, noise);
        var run = trainer.Run(x, y, cancellationToken);
        var local = ModelWeights.Read(model);
        var delta = new float[local.Length];
        for (int i = 0; i < delta.Length; i++) delta[i] = local[i] - globalWeights[i];
        double released = metrics is { Mode: "noised" }
            ? PrivateLoss.Release(Evaluator.ClippedLossSum(model, x, y, metrics.LossBound), x.shape[0], metrics.LossBound, metrics.NoiseMultiplier,
                metricNoise ?? throw new ArgumentException("noised metrics need a noise source."))
            : double.NaN;
        return (delta, run, released);
    }
}
