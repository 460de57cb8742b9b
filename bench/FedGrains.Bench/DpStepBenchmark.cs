using BenchmarkDotNet.Attributes;
using FedGrains.Learning.Models;
using FedGrains.Learning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Bench;

/// <summary>
/// One training step of the MLP 784-256-10 at batch 256: non-private (baseline), DP-SGD with per-example ghost
/// clipping and no noise, and full DP-SGD (clipping + Gaussian noise). BenchmarkDotNet's Ratio column is the cost of
/// privacy measured side by side in the same run.
/// </summary>
[MemoryDiagnoser(false)]
public class DpStepBenchmark
{
    private const int Batch = 256;
    private Tensor x = null!, y = null!;
    private (nn.Module Model, DpSgdTrainer Trainer) plain, clipped, noised, secure;

    [GlobalSetup]
    public void Setup()
    {
        NativeMemoryTuningGuard.Apply();
        var generator = new Generator(1);
        x = torch.randn([Batch, 1, 28, 28], generator: generator);
        y = torch.randint(0, 10, [Batch], generator: generator);
        plain = Create(NoiseLevel.None, 0);
        clipped = Create(NoiseLevel.Sample, 0);
        noised = Create(NoiseLevel.Sample, 1.0);
        secure = Create(NoiseLevel.Sample, 1.0, secureNoise: true);
    }

    [Benchmark(Baseline = true, Description = "non-private step")]
    public double NonPrivate() => Step(plain.Trainer);

    [Benchmark(Description = "DP step, clipping only")]
    public double ClippingOnly() => Step(clipped.Trainer);

    [Benchmark(Description = "DP step, clipping + noise")]
    public double DpSgd() => Step(noised.Trainer);

    [Benchmark(Description = "DP step, clipping + secure noise")]
    public double DpSgdSecure() => Step(secure.Trainer);

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var (model, trainer) in new[] { plain, clipped, noised, secure })
        {
            trainer.Dispose();
            model.Dispose();
        }
    }

    private double Step(DpSgdTrainer trainer)
    {
        using var scope = torch.NewDisposeScope();
        return trainer.Step(x, y, populationSize: 6000);
    }

    private static (nn.Module, DpSgdTrainer) Create(NoiseLevel level, double sigma, bool secureNoise = false)
    {
        var model = ModelFactory.Create(new ModelSpec("mlp", [256]), [1, 28, 28], 10, seed: 1);
        var settings = new TrainerSettings(0.1, 1.0, sigma, Batch / 6000.0, Steps: 1, level, SecureNoise: secureNoise);
        return (model, new DpSgdTrainer(model, settings, new Random(1), new Generator(2)));
    }
}

internal static class NativeMemoryTuningGuard
{
    public static void Apply() => FedGrains.Learning.NativeMemoryTuning.Apply();
}
