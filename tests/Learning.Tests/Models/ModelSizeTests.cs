using FedGrains.Learning.Models;

namespace FedGrains.Learning.Tests.Models;

public sealed class ModelSizeTests
{
    public static TheoryData<ModelSpec, int[], int> Models => new()
    {
        { new ModelSpec("mlp", [32]), [20], 4 },
        { new ModelSpec("mlp", [256, 64]), [1, 28, 28], 10 },
        { new ModelSpec("mlp", []), [5], 3 },
        { new ModelSpec("mlp", [16], Frozen: ["fc1"]), [20], 4 },
        { new ModelSpec("MLP", [8], "tanh"), [20], 4 },
        { new ModelSpec("cnn"), [1, 28, 28], 10 },
        { new ModelSpec("cnn"), [81, 7, 7], 10 },
        { new ModelSpec("text", [32]) { Vocabulary = 200, EmbeddingDim = 16 }, [16], 4 },
        { new ModelSpec("text", [64, 32]), [16], 4 },
    };

    [Theory, MemberData(nameof(Models))]
    public void Counts_what_the_model_factory_builds(ModelSpec spec, int[] shape, int classes)
    {
        using var model = ModelFactory.Create(spec, shape, classes, seed: 1);
        long built = model.parameters().Sum(p => p.numel());
        Assert.Equal(built, ModelSize.Parameters(spec, shape, classes));
    }

    [Fact]
    public void Counts_a_model_too_large_to_build_without_building_it()
    {
        // 1e5 x 1e5 x 2 weights would be 80 GB of floats; the count is immediate.
        Assert.Equal(100_000L * 100_000 + 100_000 + 100_000L * 10 + 10, ModelSize.Parameters(new ModelSpec("mlp", [100_000]), [100_000], 10));
    }

    [Fact]
    public void An_unknown_kind_is_refused_by_name()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelSize.Parameters(new ModelSpec("rnn"), [20], 4));
        Assert.Contains("model.kind 'rnn'", e.Message);
    }
}
