using FedGrains.Learning.Data;
using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Training;

/// <summary>
/// How the federation trains model version 0 on the examples declared public (the TF.js server's "virtual
/// server-side clients who minimize train loss"): plain minibatch SGD with momentum, no clipping and no noise, since
/// no site's data is touched. 0 epochs: off.
/// </summary>
public sealed record PublicPretrainingSpec
{
    public int Epochs { get; init; }
    public double LearningRate { get; init; } = 0.1;
    public int BatchSize { get; init; } = 128;
    public double Momentum { get; init; } = 0.9;

    public IEnumerable<string> Problems(int publicExamples)
    {
        if (Epochs < 0 || Epochs > 1000) yield return $"public_pretraining.epochs: {Epochs} must be in [0, 1000].";
        if (Epochs > 0 && publicExamples < 1) yield return "public_pretraining: needs data declared public; set dataset.public_examples (e.g. 5000), or leave epochs at 0.";
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) yield return $"public_pretraining.learning_rate: {LearningRate} must be > 0.";
        if (BatchSize < 1) yield return $"public_pretraining.batch_size: {BatchSize} must be >= 1.";
        if (Momentum is < 0 or >= 1 || double.IsNaN(Momentum)) yield return $"public_pretraining.momentum: {Momentum} must be in [0, 1).";
    }
}

public static class PublicPretraining
{
    /// <summary>The weights after <paramref name="spec"/>'s epochs over <paramref name="data"/>, from <paramref name="initial"/>; frozen layers stay as they are.</summary>
    public static float[] Run(PublicPretrainingSpec spec, ModelSpec model, LabeledData data, int classes, float[] initial, long seed, CancellationToken cancellationToken = default)
    {
        if (spec.Epochs == 0) return initial;
        var (x, y) = data.ToTensors();
        using var _x = x;
        using var _y = y;
        using var network = ModelFactory.Create(model, data.ExampleShape, classes, seed: 0);
        ModelWeights.Write(network, initial);
        double sampleRate = Math.Min(1.0, (double)spec.BatchSize / data.Count);
        int steps = (int)Math.Min(int.MaxValue, Math.Ceiling(spec.Epochs / sampleRate));
        // NoiseLevel.None: DpSgdTrainer takes plain batch-mean gradients (no per-example clipping, no noise).
        var settings = new TrainerSettings(spec.LearningRate, ClippingNorm: 1, NoiseMultiplier: 0, sampleRate, steps, NoiseLevel.None, Momentum: spec.Momentum);
        using var trainer = new DpSgdTrainer(network, settings, new Random(Seeds.Derive32(seed, "public-pretraining")), new GaussianNoise(0));
        trainer.Run(x, y, cancellationToken);
        return ModelWeights.Read(network);
    }
}
