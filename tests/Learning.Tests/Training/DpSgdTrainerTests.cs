using FedGrains.Learning.Federation;
using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Tests.Training;

public sealed class DpSgdTrainerTests
{
    [Fact]
    public void Poisson_batch_sizes_follow_binomial_n_q()
    {
        using var scope = torch.NewDisposeScope();
        const int n = 2000;
        const double q = 0.05;
        using var model = ModelFactory.Create(new ModelSpec("mlp", [8]), [5], 3, seed: 1);
        var settings = new TrainerSettings(0.1, 1.0, 1.0, q, Steps: 400);
        using var trainer = new DpSgdTrainer(model, settings, new Random(3), new GaussianNoise(4));

        var run = trainer.Run(torch.randn(n, 5), torch.randint(0, 3, [n]));

        double mean = run.BatchSizes.Average();
        double variance = run.BatchSizes.Select(b => (b - mean) * (b - mean)).Sum() / (run.BatchSizes.Length - 1);
        // Binomial(2000, 0.05): mean 100, variance 95. Standard error of the mean over 400 steps ~0.49.
        Assert.InRange(mean, 100 - 2.5, 100 + 2.5);
        Assert.InRange(variance, 95 * 0.75, 95 * 1.25);
        Assert.True(run.BatchSizes.Distinct().Count() > 10, "batch sizes must vary from step to step");
    }

    [Fact]
    public void The_added_noise_has_std_sigma_times_c_and_is_fresh_every_step()
    {
        using var scope = torch.NewDisposeScope();
        const double sigma = 1.7, c = 0.3, q = 0.01, lr = 1.0;
        const long n = 1000;
        using var model = ModelFactory.Create(new ModelSpec("mlp", [64]), [50], 10, seed: 2);
        using var trainer = new DpSgdTrainer(model, new TrainerSettings(lr, c, sigma, q, Steps: 2), new Random(1), new GaussianNoise(99));
        var empty = torch.zeros(0, 50);
        var noLabels = torch.zeros(0, dtype: ScalarType.Int64);

        // An empty Poisson sample still takes a step: p <- p - lr * noise / (q n), so noise = -(delta p) q n / lr.
        var before = ModelWeights.Read(model);
        trainer.Step(empty, noLabels, n);
        var middle = ModelWeights.Read(model);
        trainer.Step(empty, noLabels, n);
        var after = ModelWeights.Read(model);

        var first = before.Zip(middle, (b, m) => (b - m) * q * n / lr).ToArray();
        var second = middle.Zip(after, (m, a) => (m - a) * q * n / lr).ToArray();
        double std = Math.Sqrt(first.Select(v => v * v).Average());
        Assert.InRange(std, sigma * c * 0.98, sigma * c * 1.02);
        // Five standard errors over the 3,914 parameters: the mean's is sigma C / sqrt(n), the correlation's 1 / sqrt(n).
        double se = 1 / Math.Sqrt(first.Length);
        Assert.InRange(first.Average(), -5 * sigma * c * se, 5 * sigma * c * se);
        double correlation = first.Zip(second, (a, b) => a * b).Average() / (std * std);
        Assert.InRange(correlation, -5 * se, 5 * se);
    }

    [Fact]
    public void Training_on_a_learnable_task_reduces_the_loss_under_dp()
    {
        using var scope = torch.NewDisposeScope();
        var (train, test) = Learning.Data.SyntheticTask.Generate(seed: 5, trainCount: 2000, testCount: 500);
        var (x, y) = train.ToTensors();
        var (tx, ty) = test.ToTensors();
        using var model = ModelFactory.Create(new ModelSpec("mlp", [32]), train.ExampleShape, train.Classes, seed: 1);
        var (lossBefore, _) = Evaluator.Evaluate(model, tx, ty);
        using var trainer = new DpSgdTrainer(model, new TrainerSettings(0.5, 1.0, 1.0, 0.05, Steps: 100), new Random(2), new GaussianNoise(3));

        trainer.Run(x, y);

        var (lossAfter, accuracy) = Evaluator.Evaluate(model, tx, ty);
        Assert.True(lossAfter < lossBefore * 0.7, $"loss {lossBefore} -> {lossAfter}");
        Assert.True(accuracy > 0.7, $"accuracy {accuracy}");
    }

    [Fact]
    public void Dp_adam_and_batch_level_noise_train_too()
    {
        using var scope = torch.NewDisposeScope();
        var (train, test) = Learning.Data.SyntheticTask.Generate(seed: 6, trainCount: 2000, testCount: 500);
        var (x, y) = train.ToTensors();
        var (tx, ty) = test.ToTensors();
        foreach (var settings in new[]
        {
            new TrainerSettings(0.01, 1.0, 1.0, 0.05, Steps: 100, Optimizer: LocalOptimizer.Adam),
            new TrainerSettings(0.5, 10.0, 1.0, 0.05, Steps: 100, NoiseLevel: NoiseLevel.Batch),
        })
        {
            using var model = ModelFactory.Create(new ModelSpec("mlp", [32]), train.ExampleShape, train.Classes, seed: 1);
            using var trainer = new DpSgdTrainer(model, settings, new Random(2), new GaussianNoise(3));
            trainer.Run(x, y);
            var (_, accuracy) = Evaluator.Evaluate(model, tx, ty);
            // Chance is 25%; over 12 noise seeds batch-level noise gave 58-71%.
            Assert.True(accuracy > 0.5, $"{settings.Optimizer}/{settings.NoiseLevel}: accuracy {accuracy}");
        }
    }

    [Fact]
    public void Out_of_range_settings_are_refused_by_name()
    {
        Assert.Contains("clipping_norm", Assert.Throws<ArgumentException>(() => new TrainerSettings(0.1, 0, 1, 0.1, 1).Validate()).Message);
        Assert.Contains("sample rate", Assert.Throws<ArgumentException>(() => new TrainerSettings(0.1, 1, 1, 1.5, 1).Validate()).Message);
        Assert.Contains("noise_multiplier", Assert.Throws<ArgumentException>(() => new TrainerSettings(0.1, 1, double.NaN, 0.1, 1).Validate()).Message);
    }
}

public sealed class FedProxTests
{
    [Fact]
    public void A_proximal_term_keeps_the_local_model_closer_to_the_global_one()
    {
        using var scope = torch.NewDisposeScope();
        var (train, _) = Learning.Data.SyntheticTask.Generate(seed: 8, trainCount: 1000, testCount: 10);
        var (x, y) = train.ToTensors();
        var spec = new ModelSpec("mlp", [16]);
        var (global, _) = GlobalModel.Initial(spec, train.ExampleShape, train.Classes, jobSeed: 1);

        double DeltaNorm(double mu)
        {
            var settings = new TrainerSettings(0.5, 1.0, 0.5, 0.1, Steps: 60, ProximalMu: mu);
            var (delta, _, _) = LocalTraining.Run(spec, x, y, train.Classes, global, settings, new Random(1), new GaussianNoise(2));
            return Math.Sqrt(delta.Sum(d => (double)d * d));
        }

        double free = DeltaNorm(0), prox = DeltaNorm(1.0);
        Assert.True(prox < 0.8 * free, $"||delta|| with mu=1: {prox}, without: {free}");
    }
}

public sealed class SecureNoiseTests
{
    [Fact]
    public void Secure_gaussian_samples_have_the_requested_moments()
    {
        var values = new float[400_000];
        Learning.Privacy.SecureGaussian.Fill(values, 2.5);

        double mean = values.Average(v => (double)v);
        double std = Math.Sqrt(values.Average(v => ((double)v - mean) * (v - mean)));
        double kurtosis = values.Average(v => Math.Pow((v - mean) / std, 4));
        Assert.InRange(mean, -0.02, 0.02);
        Assert.InRange(std, 2.5 * 0.99, 2.5 * 1.01);
        Assert.InRange(kurtosis, 2.9, 3.1); // Gaussian: 3
    }

    [Fact]
    public void Secure_mode_noise_has_std_sigma_c_and_ignores_the_seeded_generator()
    {
        using var scope = torch.NewDisposeScope();
        const double sigma = 1.3, c = 0.5, q = 0.01;
        const long n = 1000;
        float[] StepNoise()
        {
            // ~31k parameters: the std estimate's standard error is ~0.4%, so the 2% band is a 5-sigma check.
            using var model = ModelFactory.Create(new ModelSpec("mlp", [512]), [50], 10, seed: 2);
            using var trainer = new DpSgdTrainer(model, new TrainerSettings(1.0, c, sigma, q, Steps: 1), new Random(1), new SecureNoise());
            var before = ModelWeights.Read(model);
            trainer.Step(torch.zeros(0, 50), torch.zeros(0, dtype: ScalarType.Int64), n);
            return before.Zip(ModelWeights.Read(model), (b, a) => (b - a) * (float)(q * n)).ToArray();
        }

        var first = StepNoise();
        var second = StepNoise();

        double std = Math.Sqrt(first.Select(v => (double)v * v).Average());
        Assert.InRange(std, sigma * c * 0.98, sigma * c * 1.02);
        Assert.NotEqual(first, second); // same seeds, different noise: it comes from the OS, not the seeded generator
    }
}

public sealed class TextModelTests
{
    [Fact]
    public void The_text_model_learns_entity_tokens_with_dp_sgd()
    {
        using var scope = torch.NewDisposeScope();
        var (train, test) = Learning.Data.SyntheticText.Generate(seed: 4, trainCount: 2000, testCount: 500, length: 16, vocabulary: 200, classes: 4);
        var (x, y) = train.ToTensors();
        var (tx, ty) = test.ToTensors();
        var spec = new ModelSpec("text", [32]);
        var (global, _) = GlobalModel.Initial(spec, train.ExampleShape, train.Classes, jobSeed: 1);
        var settings = new TrainerSettings(1.0, 1.0, NoiseMultiplier: 1.0, SampleRate: 64.0 / 2000, Steps: 150);

        var (delta, run, _) = LocalTraining.Run(spec, x, y, train.Classes, global, settings, new Random(1), new GaussianNoise(2));
        var trained = global.Zip(delta, (w, d) => w + d).ToArray();
        var (_, accuracy) = GlobalModel.Evaluate(spec, trained, tx, ty, train.Classes);

        Assert.Equal(150, run.Steps);
        Assert.True(accuracy > 0.6, $"accuracy {accuracy} (chance 0.25)");
    }

    [Theory]
    [InlineData(LocalOptimizer.Sgd, 0.0)]
    [InlineData(LocalOptimizer.Sgd, 0.9)]
    [InlineData(LocalOptimizer.Adam, 0.0)]
    public void The_local_update_matches_torch_optim_step_for_step(LocalOptimizer kind, double momentum)
    {
        using var scope = torch.NewDisposeScope();
        using var ours = ModelFactory.Create(new ModelSpec("mlp", [8]), [5], 3, seed: 4);
        using var reference = ModelFactory.Create(new ModelSpec("mlp", [8]), [5], 3, seed: 4);
        var oursParameters = ours.parameters().ToList();
        var referenceParameters = reference.parameters().ToList();
        using var step = new GradientStep(oursParameters, kind, 0.05, momentum);
        using optim.Optimizer torchOptimizer = kind == LocalOptimizer.Adam
            ? optim.Adam(referenceParameters, 0.05)
            : optim.SGD(referenceParameters, 0.05, momentum);
        var generator = new Generator(11);
        for (int t = 0; t < 6; t++)
        {
            var gradients = oursParameters.Select(p => torch.randn(p.shape, generator: generator)).ToList();
            step.Apply(gradients);
            for (int k = 0; k < referenceParameters.Count; k++) referenceParameters[k].grad = gradients[k].clone();
            torchOptimizer.step();
        }
        for (int k = 0; k < oursParameters.Count; k++)
            Assert.True(torch.allclose(oursParameters[k], referenceParameters[k], rtol: 1e-5, atol: 1e-6), $"parameter {k} differs");
    }
}
