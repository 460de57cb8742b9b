using BenchmarkDotNet.Attributes;
using FedGrains.Learning.Models;
using FedGrains.Learning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Bench;

/// <summary>
/// One training step at batch 256 of the MLP 784-256-10 and of the tanh CNN: non-private (baseline), DP-SGD with
/// per-example clipping only, full DP-SGD (clipping + Gaussian noise, the per-layer cheaper of ghost and materialised
/// norms), DP-SGD with every layer's per-example gradients materialised (what per-sample hooks do), and DP-SGD with
/// secure noise. BenchmarkDotNet's Ratio column is the cost of privacy measured side by side in the same run.
/// </summary>
[MemoryDiagnoser(false)]
public class DpStepBenchmark
{
    private const int Batch = 256;
    private Tensor x = null!, y = null!;
    private readonly List<(nn.Module Model, DpSgdTrainer Trainer)> created = [];
    private DpSgdTrainer plain = null!, clipped = null!, noised = null!, materialised = null!, secure = null!;

    [Params("mlp", "cnn")]
    public string Model { get; set; } = "mlp";

    [GlobalSetup]
    public void Setup()
    {
        NativeMemoryTuningGuard.Apply();
        // BenchmarkDotNet runs this thread at Highest priority. The trainer draws its noise on other (normal priority)
        // threads beside the gradient computation, which such a priority would starve; a gateway's training runs at
        // normal priority, so measure it that way.
        Thread.CurrentThread.Priority = ThreadPriority.Normal;
        var generator = new Generator(1);
        x = torch.randn([Batch, 1, 28, 28], generator: generator);
        y = torch.randint(0, 10, [Batch], generator: generator);
        plain = Create(NoiseLevel.None, 0);
        clipped = Create(NoiseLevel.Sample, 0);
        noised = Create(NoiseLevel.Sample, 1.0);
        materialised = Create(NoiseLevel.Sample, 1.0, norms: PerExampleNorms.Materialised);
        secure = Create(NoiseLevel.Sample, 1.0, secureNoise: true);
    }

    [Benchmark(Baseline = true, Description = "non-private step")]
    public double NonPrivate() => Step(plain);

    [Benchmark(Description = "DP step, clipping only")]
    public double ClippingOnly() => Step(clipped);

    [Benchmark(Description = "DP step, clipping + noise")]
    public double DpSgd() => Step(noised);

    [Benchmark(Description = "DP step, materialised per-example gradients")]
    public double DpSgdMaterialised() => Step(materialised);

    [Benchmark(Description = "DP step, clipping + secure noise")]
    public double DpSgdSecure() => Step(secure);

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var (model, trainer) in created)
        {
            trainer.Dispose();
            model.Dispose();
        }
        created.Clear();
    }

    private double Step(DpSgdTrainer trainer)
    {
        using var scope = torch.NewDisposeScope();
        return trainer.Step(x, y, populationSize: 6000);
    }

    private DpSgdTrainer Create(NoiseLevel level, double sigma, bool secureNoise = false, PerExampleNorms norms = PerExampleNorms.Cheaper)
    {
        var model = ModelFactory.Create(new ModelSpec(Model, [256]), [1, 28, 28], 10, seed: 1);
        var settings = new TrainerSettings(0.1, 1.0, sigma, Batch / 6000.0, Steps: 1, level, SecureNoise: secureNoise, PerExampleNorms: norms);
        var trainer = new DpSgdTrainer(model, settings, new Random(1), new Generator(2));
        created.Add((model, trainer));
        return trainer;
    }
}

internal static class NativeMemoryTuningGuard
{
    public static void Apply() => FedGrains.Learning.NativeMemoryTuning.Apply();
}
