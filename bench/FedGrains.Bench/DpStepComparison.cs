using System.Diagnostics;
using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Bench;

/// <summary>
/// One training step at batch 256 of a model (the MLP 784-256-10 or the tanh CNN), five ways: non-private (the
/// baseline), DP-SGD with per-example clipping only, full DP-SGD (clipping + Gaussian noise, the per-layer cheaper of
/// ghost and materialised norms), DP-SGD with every per-example gradient materialised (what per-sample hooks do), and
/// DP-SGD with secure noise.
/// </summary>
/// <remarks>
/// The variants run round-robin: every repetition times each variant once, and each ratio is the median over
/// repetitions of (variant time / non-private time in the same repetition). On a shared, noisy machine the load
/// drifts over seconds; measuring the variants one after another (as BenchmarkDotNet does) lets that drift into the
/// ratios, pairing within a repetition cancels it. Threads run at normal priority, as a gateway's training does.
/// </remarks>
public sealed class DpStepComparison : IDisposable
{
    private const int Batch = 256;
    private readonly Tensor x, y;
    private readonly List<(nn.Module Model, DpSgdTrainer Trainer)> created = [];
    private readonly string model;

    public DpStepComparison(string model)
    {
        this.model = model;
        using var generator = new Generator(1);
        x = torch.randn([Batch, 1, 28, 28], generator: generator);
        y = torch.randint(0, 10, [Batch], generator: generator);
    }

    /// <summary>Median ms per step of each variant and its median paired ratio to the non-private step.</summary>
    public IReadOnlyList<(string Variant, double Milliseconds, double Ratio)> Run(int warmup, int repetitions, int materialisedEvery)
    {
        var variants = new List<(string Name, DpSgdTrainer Trainer, int Every)>
        {
            ("non-private", Create(NoiseLevel.None, 0), 1),
            ("DP clipping only", Create(NoiseLevel.Sample, 0), 1),
            ("DP clipping + noise", Create(NoiseLevel.Sample, 1.0), 1),
            ("materialised per-example", Create(NoiseLevel.Sample, 1.0, norms: PerExampleNorms.Materialised), materialisedEvery),
            ("DP clipping + secure noise", Create(NoiseLevel.Sample, 1.0, secureNoise: true), 1),
        };
        var times = variants.ToDictionary(v => v.Name, _ => new List<double>());
        var ratios = variants.ToDictionary(v => v.Name, _ => new List<double>());
        for (int rep = 0; rep < warmup + repetitions; rep++)
        {
            double baseline = 0;
            foreach (var (name, trainer, every) in variants)
            {
                if (rep % every != 0) continue;
                double ms = Time(trainer);
                if (name == "non-private") baseline = ms;
                if (rep < warmup) continue;
                times[name].Add(ms);
                ratios[name].Add(ms / baseline);
            }
        }
        return variants.Select(v => (v.Name, Median(times[v.Name]), Median(ratios[v.Name]))).ToList();
    }

    private double Time(DpSgdTrainer trainer)
    {
        using var scope = torch.NewDisposeScope();
        var watch = Stopwatch.StartNew();
        trainer.Step(x, y, populationSize: 6000);
        return watch.Elapsed.TotalMilliseconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];
    }

    private DpSgdTrainer Create(NoiseLevel level, double sigma, bool secureNoise = false, PerExampleNorms norms = PerExampleNorms.Cheaper)
    {
        var net = ModelFactory.Create(new ModelSpec(model, [256]), [1, 28, 28], 10, seed: 1);
        var settings = new TrainerSettings(0.1, 1.0, sigma, Batch / 6000.0, Steps: 1, level, PerExampleNorms: norms);
        var trainer = new DpSgdTrainer(net, settings, new Random(1), secureNoise ? new SecureNoise() : new GaussianNoise(2));
        created.Add((net, trainer));
        return trainer;
    }

    public void Dispose()
    {
        foreach (var (net, trainer) in created)
        {
            trainer.Dispose();
            net.Dispose();
        }
        x.Dispose();
        y.Dispose();
    }
}
