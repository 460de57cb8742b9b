using FedGrains.Learning;
using FedGrains.Learning.Models;
using FedGrains.Learning.Training;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Tests.Training;

public sealed class PerExampleClippingTests
{
    public static TheoryData<string, double> Models()
    {
        var data = new TheoryData<string, double>();
        foreach (var kind in new[] { "mlp", "mlp-materialised", "cnn", "cnn-ghost", "cnn-materialised", "groupnorm-cnn", "dilated-conv", "dilated-conv-ghost", "text", "sequence-linear", "layer-list", "layer-list-ghost", "residual", "residual-ghost" })
            foreach (var norm in new[] { 1.0, 0.05 })
                data.Add(kind, norm);
        return data;
    }

    /// <summary>The model, its input and how conv norms are taken for a test case; every trainable layer kind DP-SGD supports appears.</summary>
    private static (Sequential Model, Tensor X, PerExampleNorms Conv) Case(string kind, Generator generator)
    {
        Tensor Images() => torch.randn([12, 1, 28, 28], generator: generator, dtype: ScalarType.Float64);
        Tensor Tokens() => torch.randint(0, 40, [12, 16], generator: generator).to(ScalarType.Float64); // repeated ids on purpose
        return kind switch
        {
            "mlp" => (ModelFactory.Create(new ModelSpec("mlp", [16, 8]), [20], 10, seed: 3), torch.randn([12, 20], generator: generator, dtype: ScalarType.Float64), PerExampleNorms.Cheaper),
            "mlp-materialised" => (ModelFactory.Create(new ModelSpec("mlp", [16, 8]), [20], 10, seed: 3), torch.randn([12, 20], generator: generator, dtype: ScalarType.Float64), PerExampleNorms.Materialised),
            "cnn" => (ModelFactory.Create(new ModelSpec("cnn"), [1, 28, 28], 10, seed: 3), Images(), PerExampleNorms.Cheaper),
            "cnn-ghost" => (ModelFactory.Create(new ModelSpec("cnn"), [1, 28, 28], 10, seed: 3), Images(), PerExampleNorms.Ghost),
            "cnn-materialised" => (ModelFactory.Create(new ModelSpec("cnn"), [1, 28, 28], 10, seed: 3), Images(), PerExampleNorms.Materialised),
            "groupnorm-cnn" => (nn.Sequential(("conv", nn.Conv2d(1, 8, 5, stride: 3)), ("gn", nn.GroupNorm(2, 8)), ("tanh", nn.Tanh()),
                ("flatten", nn.Flatten()), ("ln", nn.LayerNorm(8 * 8 * 8)), ("out", nn.Linear(8 * 8 * 8, 10))), Images(), PerExampleNorms.Cheaper),
            // Several input channels, a non-square input, padding, stride and dilation: every index of the patch view.
            "dilated-conv" or "dilated-conv-ghost" => (nn.Sequential(("conv", nn.Conv2d(2, 4, 3, stride: 2, padding: 2, dilation: 2)), ("tanh", nn.Tanh()),
                ("flatten", nn.Flatten()), ("out", nn.Linear(4 * 6 * 5, 10))), torch.randn([12, 2, 11, 9], generator: generator, dtype: ScalarType.Float64),
                kind.EndsWith("ghost") ? PerExampleNorms.Ghost : PerExampleNorms.Cheaper),
            "text" => (ModelFactory.Create(new ModelSpec("text", [8]) { Vocabulary = 40, EmbeddingDim = 6 }, [16], 10, seed: 3), Tokens(), PerExampleNorms.Cheaper),
            "sequence-linear" => (nn.Sequential(("ids", new TokenIds()), ("embed", nn.Embedding(40, 6)), ("fc", nn.Linear(6, 5)), ("ln", nn.LayerNorm(5)),
                ("pool", new MeanOverTokens()), ("out", nn.Linear(5, 10))), Tokens(), PerExampleNorms.Cheaper),
            // A spec's layer list with every parameterised and shape-changing type but dropout (random, so no naive twin).
            "layer-list" or "layer-list-ghost" => (ModelFactory.Create(new ModelSpec
            {
                Layers = [new("conv2d") { Out = 4, Kernel = 5, Stride = 2, Padding = 1 }, new("group_norm") { Groups = 2 }, new("gelu"),
                    new("avg_pool2d") { Kernel = 2 }, new("conv2d") { Out = 6, Kernel = 3 }, new("sigmoid"), new("max_pool2d") { Kernel = 2, Stride = 1 },
                    new("flatten"), new("layer_norm"), new("linear") { Out = 12 }, new("relu"), new("linear") { Out = 10 }],
            }, [1, 28, 28], 10, seed: 3), Images(), kind.EndsWith("ghost") ? PerExampleNorms.Ghost : PerExampleNorms.Cheaper),
            // Residual blocks around convolutions and around linear layers: each body layer's gradient flows through two paths.
            "residual" or "residual-ghost" => (ModelFactory.Create(new ModelSpec
            {
                Layers = [new("conv2d") { Out = 4, Kernel = 5, Stride = 3 },
                    new("residual") { Layers = [new("conv2d") { Out = 4, Kernel = 3, Padding = 1 }, new("group_norm") { Groups = 2 }, new("tanh"), new("conv2d") { Out = 4, Kernel = 3, Padding = 1 }] },
                    new("flatten"), new("linear") { Out = 12 },
                    new("residual") { Layers = [new("layer_norm"), new("linear") { Out = 12 }, new("relu")] }, new("linear") { Out = 10 }],
            }, [1, 28, 28], 10, seed: 3), Images(), kind.EndsWith("ghost") ? PerExampleNorms.Ghost : PerExampleNorms.Cheaper),
            _ => throw new ArgumentException(kind),
        };
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Ghost_norms_and_the_clipped_sum_match_a_naive_per_example_loop(string kind, double clippingNorm)
    {
        using var scope = torch.NewDisposeScope();
        var generator = new Generator(11);
        var (model, x, conv) = Case(kind, generator);
        using var _ = model;
        var y = torch.randint(0, 10, [12], generator: generator);
        model.to(ScalarType.Float64);
        PrivateModelValidator.Validate(model);

        var (ghost, norms, _) = PerExampleClipping.Compute(model, x, y, clippingNorm, conv);
        var (naive, naiveNorms) = NaiveClippedSum(model, x, y, clippingNorm);
        using Scalar minusOne = -1.0;

        for (int i = 0; i < 12; i++) Assert.Equal(naiveNorms[i], norms[i].item<double>(), 1e-5 * Math.Max(1, naiveNorms[i]));
        Assert.Equal(naive.Count, ghost.Count);
        for (int k = 0; k < naive.Count; k++)
        {
            Assert.Same(naive[k].Parameter, ghost[k].Parameter);
            double maxDiff = naive[k].Gradient.add(ghost[k].Gradient, minusOne).abs().max().item<double>();
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
            double norm = Math.Sqrt(grads.Sum(g => g.Squared().sum().item<double>()));
            norms[i] = norm;
            // Held, not an implicit conversion: a Scalar finalized by another thread's GC mid-call corrupts the result.
            using Scalar factor = Math.Min(1, c / (norm + 1e-6));
            for (int k = 0; k < sums.Count; k++) sums[k] = sums[k].Plus(grads[k].mul(factor));
        }
        return (parameters.Zip(sums).ToList(), norms);
    }
}
