using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Tests.Training;

/// <summary>
/// libtorch must never read a Scalar the GC may already have freed (see <see cref="TemporaryScalarScanner"/>): the
/// learning library is checked call by call, and training is run while another thread collects without pause.
/// </summary>
public sealed class TemporaryScalarTests
{
    [Fact]
    public void The_learning_library_never_hands_libtorch_a_temporary_scalar()
    {
        var violations = TemporaryScalarScanner.Violations(typeof(DpSgdTrainer).Assembly);

        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }

    [Fact]
    public void The_scanner_finds_hidden_and_implicit_temporaries_and_accepts_held_ones()
    {
        var found = TemporaryScalarScanner.Violations(typeof(TemporaryScalarTests).Assembly)
            .Where(v => v.Contains(nameof(Samples), StringComparison.Ordinal)).ToList();

        Assert.Contains(found, v => v.Contains(nameof(Samples.Squares)) && v.Contains("square"));
        Assert.Contains(found, v => v.Contains(nameof(Samples.AddsTensors)) && v.Contains("op_Addition"));
        Assert.Contains(found, v => v.Contains(nameof(Samples.ScalesByALiteral)) && v.Contains("temporary Scalar"));
        Assert.DoesNotContain(found, v => v.Contains(nameof(Samples.HoldsItsScalars)));
    }

    [Fact]
    public void Private_training_survives_a_collector_running_without_pause()
    {
        using var collecting = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!collecting.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            // The CNN's long native calls gave the collector room: before the fix about half of these runs failed.
            foreach (var (spec, shape, optimizer) in new (ModelSpec, int[], LocalOptimizer)[]
            {
                (new ModelSpec("cnn", [8]), [1, 28, 28], LocalOptimizer.Sgd),
                (new ModelSpec("cnn", [8]), [1, 28, 28], LocalOptimizer.Adam),
                (new ModelSpec("mlp", [32]), [50], LocalOptimizer.Sgd),
                (new ModelSpec("mlp", [32]), [50], LocalOptimizer.Adam),
            })
            {
                for (int seed = 0; seed < 3; seed++)
                {
                    using var scope = torch.NewDisposeScope();
                    using var model = ModelFactory.Create(spec, shape, 10, seed);
                    var settings = new TrainerSettings(0.1, 1.0, 1.0, 0.1, Steps: 40, Optimizer: optimizer,
                        Momentum: optimizer == LocalOptimizer.Sgd ? 0.9 : 0, ProximalMu: 0.01);
                    using var trainer = new DpSgdTrainer(model, settings, new Random(seed), new GaussianNoise((ulong)seed));
                    long[] size = [400, .. shape];
                    var run = trainer.Run(torch.randn(size), torch.randint(0, 10, [400]));
                    var (loss, _) = Evaluator.Evaluate(model, torch.randn(size), torch.randint(0, 10, [400]));
                    Assert.True(double.IsFinite(run.MeanLoss) && double.IsFinite(loss), $"{spec.Kind} {optimizer} seed {seed}: loss {run.MeanLoss}, {loss}");
                }
            }
        }
        finally
        {
            collecting.Cancel();
            collector.Join();
        }
    }

    // Code for the scanner to judge; never run.
    private static class Samples
    {
        public static Tensor Squares(Tensor t) => t.square();

        public static Tensor AddsTensors(Tensor a, Tensor b) => a + b;

        public static Tensor ScalesByALiteral(Tensor t) => t.mul(2.0);

        public static Tensor HoldsItsScalars(Tensor a, Tensor b)
        {
            using var two = 2.0.ToScalar();
            return a.mul(b).mul_(two).add_(b, alpha: Held);
        }

        private static readonly Scalar Held = 1.0;
    }
}
