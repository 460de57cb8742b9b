using FedGrains.Learning.Models;
using FedGrains.Learning.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedGrains.Learning.Tests;

public sealed class PerExampleClippingTests
{
    public static TheoryData<string, double> Models => new()
    {
        { "mlp", 1.0 },
        { "mlp", 0.05 },
        { "cnn", 1.0 },
        { "cnn", 0.05 },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Ghost_norms_and_the_clipped_sum_match_a_naive_per_example_loop(string kind, double clippingNorm)
    {
        using var scope = torch.NewDisposeScope();
        int[] shape = kind == "mlp" ? [20] : [1, 28, 28];
        using var model = ModelFactory.Create(new ModelSpec(kind, [16, 8]), shape, 10, seed: 3);
        var generator = new Generator(11);
        var x = torch.randn(new long[] { 12 }.Concat(shape.Select(s => (long)s)).ToArray(), generator: generator, dtype: ScalarType.Float64);
        var y = torch.randint(0, 10, [12], generator: generator);
        model.to(ScalarType.Float64);

        var (ghost, norms, _) = PerExampleClipping.Compute(model, x, y, clippingNorm);
        var (naive, naiveNorms) = NaiveClippedSum(model, x, y, clippingNorm);

        for (int i = 0; i < 12; i++) Assert.Equal(naiveNorms[i], norms[i].item<double>(), 1e-5 * Math.Max(1, naiveNorms[i]));
        Assert.Equal(naive.Count, ghost.Count);
        for (int k = 0; k < naive.Count; k++)
        {
            Assert.Same(naive[k].Parameter, ghost[k].Parameter);
            double maxDiff = (naive[k].Gradient - ghost[k].Gradient).abs().max().item<double>();
            Assert.True(maxDiff < 1e-5, $"parameter {k}: max difference {maxDiff}");
        }
    }

    [Fact]
    public void A_single_example_contributes_at_most_the_clipping_norm()
    {
        using var scope = torch.NewDisposeScope();
        using var model = ModelFactory.Create(new ModelSpec("mlp", [32]), [20], 4, seed: 5);
        for (int trial = 0; trial < 20; trial++)
        {
            var x = torch.randn(1, 20) * (trial + 1);
            var y = torch.tensor(new long[] { trial % 4 });
            var (grads, _, _) = PerExampleClipping.Compute(model, x, y, 0.5);
            double norm = Math.Sqrt(grads.Sum(g => g.Gradient.pow(2).sum().item<float>()));
            Assert.True(norm <= 0.5 * (1 + 1e-5), $"clipped norm {norm} exceeds 0.5");
        }
    }

    [Fact]
    public void BatchNorm_is_refused_before_training_with_the_layer_named_and_a_replacement()
    {
        using var model = nn.Sequential(("fc", nn.Linear(4, 4)), ("bn", nn.BatchNorm1d(4)), ("out", nn.Linear(4, 2)));

        var error = Assert.Throws<NotSupportedException>(() => PrivateModelValidator.Validate(model));

        Assert.Contains("'bn'", error.Message);
        Assert.Contains("GroupNorm", error.Message);
    }

    private static (List<(Parameter Parameter, Tensor Gradient)>, double[]) NaiveClippedSum(Sequential model, Tensor x, Tensor y, double c)
    {
        var parameters = model.parameters().ToList();
        var sums = parameters.Select(p => torch.zeros_like(p)).ToList();
        var norms = new double[x.shape[0]];
        for (long i = 0; i < x.shape[0]; i++)
        {
            var loss = nn.functional.cross_entropy(model.call(x[TensorIndex.Slice(i, i + 1)]), y[TensorIndex.Slice(i, i + 1)], reduction: nn.Reduction.Sum);
            var grads = torch.autograd.grad([loss], parameters.Cast<Tensor>().ToList());
            double norm = Math.Sqrt(grads.Sum(g => g.pow(2).sum().item<double>()));
            norms[i] = norm;
            double factor = Math.Min(1, c / (norm + 1e-6));
            for (int k = 0; k < sums.Count; k++) sums[k] += grads[k] * factor;
        }
        return (parameters.Zip(sums).ToList(), norms);
    }
}
