using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Tests.Models;

/// <summary>Layer-list models: shapes inferred before anything is built, the presets as lists, and every problem named.</summary>
public sealed class ModelLayoutTests
{
    private static readonly LayerSpec[] EveryImageLayer =
    [
        new("conv2d") { Out = 8, Kernel = 3, Padding = 1 }, new("group_norm") { Groups = 4 }, new("gelu"),
        new("max_pool2d") { Kernel = 2 }, new("conv2d") { Name = "conv", Out = 6, Kernel = 3, Stride = 2 }, new("sigmoid"),
        new("avg_pool2d") { Kernel = 2, Stride = 1 }, new("flatten"), new("dropout") { P = 0.25 },
        new("linear") { Out = 16 }, new("layer_norm"), new("tanh"), new("linear") { Name = "head", Out = 10 },
    ];

    [Fact]
    public void Shapes_and_parameters_are_inferred_as_pytorch_computes_them()
    {
        var plan = ModelLayout.Plan(EveryImageLayer, [1, 28, 28], 10);

        // conv 28 -> 28 (padding 1), pool 28 -> 14, conv (14 - 3) / 2 + 1 = 6, avg pool 6 -> 5, 6 x 5 x 5 = 150.
        Assert.Equal([8, 28, 28], plan[0].Output);
        Assert.Equal([8, 14, 14], plan[3].Output);
        Assert.Equal([6, 6, 6], plan[4].Output);
        Assert.Equal([6, 5, 5], plan[6].Output);
        Assert.Equal([150], plan[7].Output);
        Assert.Equal(["0", "1", "2", "3", "conv", "5", "6", "7", "8", "9", "10", "11", "head"], plan.Select(l => l.Name));
        Assert.Equal(1 * 8 * 9 + 8, plan[0].Parameters);
        Assert.Equal(2 * 8, plan[1].Parameters);
        Assert.Equal(8 * 6 * 9 + 6, plan[4].Parameters);
        Assert.Equal(150 * 16 + 16, plan[9].Parameters);
        Assert.Equal(2 * 16, plan[10].Parameters);
    }

    private static readonly LayerSpec[] Residual =
    [
        new("conv2d") { Name = "stem", Out = 4, Kernel = 3, Stride = 2, Padding = 1 },
        new("residual") { Name = "block1", Layers = [new("conv2d") { Out = 4, Kernel = 3, Padding = 1 }, new("group_norm") { Groups = 2 }, new("tanh"), new("conv2d") { Out = 4, Kernel = 3, Padding = 1 }] },
        new("flatten"), new("linear") { Name = "fc", Out = 16 },
        new("residual") { Name = "block2", Layers = [new("layer_norm"), new("linear") { Name = "up", Out = 16 }, new("gelu")] },
        new("linear") { Name = "out", Out = 10 },
    ];

    [Fact]
    public void A_residual_block_keeps_its_input_shape_counts_its_body_and_names_its_parameters_under_its_own()
    {
        var plan = ModelLayout.Plan(Residual, [1, 28, 28], 10);
        Assert.Equal([4, 14, 14], plan[1].Output);
        Assert.Equal(2 * (4 * 4 * 9 + 4) + 2 * 4, plan[1].Parameters);
        Assert.Equal(["0", "1", "2", "3"], plan[1].Body!.Select(l => l.Name));
        Assert.Equal(2 * 16 + 16 * 16 + 16, plan[4].Parameters);

        using var model = ModelFactory.Create(new ModelSpec { Layers = Residual }, [1, 28, 28], 10, seed: 1);
        Assert.Equal(plan.Sum(l => l.Parameters), model.parameters().Sum(p => p.numel()));
        Assert.Contains("block1.3.weight", model.named_parameters().Select(p => p.name));
        Assert.Contains("block2.up.bias", model.named_parameters().Select(p => p.name));
        // x + body(x): with the body's last layer zeroed, the block passes its input through.
        using var x = torch.randn([2, 16]);
        var block = (ResidualBlock)model.named_children().Single(c => c.name == "block2").module;
        using (torch.no_grad()) foreach (var p in ((nn.Module)block.Body[1]).parameters()) p.zero_();
        using var y = block.call(x);
        Assert.True(torch.allclose(x, y));
    }

    [Theory]
    [InlineData("""[{"type": "flatten"}, {"type": "residual", "layers": [{"type": "linear", "out": 8}]}, {"type": "linear", "out": 10}]""",
        "model.layers[1] (residual): its layers give [8] per example, but its input is [784]", "linear with out 784")]
    [InlineData("""[{"type": "flatten"}, {"type": "residual"}, {"type": "linear", "out": 10}]""", "model.layers[1] (residual): needs \"layers\"")]
    [InlineData("""[{"type": "flatten"}, {"type": "residual", "layers": []}, {"type": "linear", "out": 10}]""", "a residual block needs at least one")]
    [InlineData("""[{"type": "flatten"}, {"type": "residual", "layers": [{"type": "residual", "layers": [{"type": "relu"}]}]}, {"type": "linear", "out": 10}]""", "inside a residual block is not supported")]
    [InlineData("""[{"type": "flatten"}, {"type": "residual", "layers": [{"type": "batch_norm1d"}]}, {"type": "linear", "out": 10}]""", "model.layers[1].layers[0] (batch_norm1d): batch normalisation")]
    [InlineData("""[{"type": "flatten"}, {"type": "residual", "layers": [{"type": "relu", "name": "a"}, {"type": "tanh", "name": "a"}]}, {"type": "linear", "out": 10}]""", "model.layers[1].layers[1] (tanh): name 'a' is used by an earlier layer")]
    [InlineData("""[{"type": "flatten"}, {"type": "linear", "out": 10, "layers": [{"type": "relu"}]}]""", "model.layers[1] (linear): takes no \"layers\"")]
    public void A_residual_block_that_cannot_work_is_refused_with_its_path(string layers, params string[] expected)
    {
        var problems = JobSpecValidator.Problems(JobSpecJson.Parse($$$"""{"model": {"layers": {{{layers}}}}}"""));
        foreach (var text in expected) Assert.Contains(problems, p => p.Contains(text));
    }

    [Fact]
    public void A_layer_list_builds_the_planned_model_and_a_dp_step_clips_every_layer_per_example()
    {
        using var scope = torch.NewDisposeScope();
        var spec = new ModelSpec { Layers = EveryImageLayer };
        using var model = ModelFactory.Create(spec, [1, 28, 28], 10, seed: 4);
        PrivateModelValidator.Validate(model);

        Assert.Equal(ModelSize.Parameters(spec, [1, 28, 28], 10), model.parameters().Sum(p => p.numel()));
        Assert.Contains("conv.weight", model.named_parameters().Select(p => p.name));
        Assert.Contains("head.bias", model.named_parameters().Select(p => p.name));
        var x = torch.randn([6, 1, 28, 28], generator: new Generator(2));
        Assert.Equal([6L, 10], model.call(x).shape);

        // Dropout draws per example; with the model in training mode each example's norm is still clipped.
        model.train();
        var y = torch.tensor(new long[] { 0, 1, 2, 3, 4, 5 });
        var (gradients, norms, _) = PerExampleClipping.Compute(model, x, y, clippingNorm: 0.1, PerExampleNorms.Cheaper);
        Assert.Equal(model.parameters().Count(), gradients.Count);
        Assert.All(Enumerable.Range(0, 6), i => Assert.True(norms[i].item<float>() > 0));
        double sumNorm = Math.Sqrt(gradients.Sum(g => g.Gradient.pow(2).sum().item<float>()));
        Assert.True(sumNorm <= 6 * 0.1 + 1e-4, $"the clipped sum of 6 examples has norm {sumNorm} > 6 x the clipping norm");
    }

    [Fact]
    public void A_token_list_starts_with_an_embedding_and_builds_with_its_id_conversion()
    {
        using var scope = torch.NewDisposeScope();
        var spec = new ModelSpec { Layers = [new("embedding") { Vocabulary = 50, Dim = 8 }, new("mean_tokens"), new("layer_norm"), new("linear") { Out = 4 }] };
        using var model = ModelFactory.Create(spec, [16], 4, seed: 4);

        Assert.Equal(["0.weight", "2.weight", "2.bias", "3.weight", "3.bias"], model.named_parameters().Select(p => p.name));
        Assert.Equal(50 * 8 + 2 * 8 + 8 * 4 + 4, ModelSize.Parameters(spec, [16], 4));
        Assert.Equal([3L, 4], model.call(torch.randint(0, 50, [3, 16]).to(ScalarType.Float32)).shape);
    }

    public static TheoryData<string, int[], string[]> Presets => new()
    {
        { "mlp", [1, 28, 28], ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "out.weight", "out.bias"] },
        { "cnn", [1, 28, 28], ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "out.weight", "out.bias"] },
        { "cnn", [81, 7, 7], ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "out.weight", "out.bias"] },
        { "text", [16], ["embed.weight", "norm.weight", "norm.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "out.weight", "out.bias"] },
    };

    /// <summary>The names model.frozen prefixes and exported safetensors files use, and the sizes, as before the presets were lists.</summary>
    [Theory, MemberData(nameof(Presets))]
    public void The_built_in_models_are_presets_with_their_old_parameter_names_and_counts(string kind, int[] shape, string[] names)
    {
        var spec = new ModelSpec(kind, [64, 32]);
        using var model = ModelFactory.Create(spec, shape, 10, seed: 1);
        Assert.Equal(names, model.named_parameters().Select(p => p.name));
        long expected = kind switch
        {
            "mlp" => 784L * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10,
            "cnn" when shape[0] == 81 => 81L * 16 * 9 + 16 + 16 * 32 * 9 + 32 + 512 * 32 + 32 + 32 * 10 + 10,
            "cnn" => 1L * 16 * 64 + 16 + 16 * 32 * 16 + 32 + 512 * 32 + 32 + 32 * 10 + 10,
            _ => 256L * 32 + 2 * 32 + 32 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10,
        };
        Assert.Equal(expected, model.parameters().Sum(p => p.numel()));
    }

    public static TheoryData<LayerSpec[], string[]> Refused => new()
    {
        { [new("batch_norm2d"), new("flatten"), new("linear") { Out = 10 }], ["model.layers[0]", "batch normalisation", "group_norm", "layer_norm"] },
        { [new("BatchNorm1d")], ["batch normalisation"] },
        { [new("lstm")], ["'lstm' is not known", "linear, conv2d"] },
        { [new("linear")], ["model.layers[0] (linear): needs \"out\""] },
        { [new("linear") { Out = 10, Kernel = 3 }], ["takes no \"kernel\"", "it takes out"] },
        { [new("relu") { P = 0.5 }], ["takes no \"p\"."] },
        { [new("dropout") { P = 1 }], ["p 1 must be in [0, 1)"] },
        { [new("conv2d") { Out = 0, Kernel = 3 }], ["out 0 must be >= 1"] },
        { [new("max_pool2d") { Kernel = 2, Padding = 2 }], ["at most half the kernel"] },
        { [new("flatten"), new("embedding") { Vocabulary = 10, Dim = 2 }], ["must be the first layer"] },
        { [new("flatten") { Name = "x" }, new("linear") { Name = "x", Out = 10 }], ["model.layers[1] (linear): name 'x' is used by an earlier layer"] },
        { [new("linear") { Name = "fc.1", Out = 10 }], ["name 'fc.1' must be"] },
        { [new("embedding") { Vocabulary = 10, Dim = 2 }, new("mean_tokens") { Name = "ids" }], ["name 'ids' is taken"] },
        { [], ["has no layer"] },
    };

    [Theory, MemberData(nameof(Refused))]
    public void Fields_that_cannot_make_a_private_model_are_refused_with_what_to_use(LayerSpec[] layers, string[] mustSay)
    {
        var problems = string.Join("\n", ModelLayout.Problems(layers));
        foreach (var phrase in mustSay) Assert.Contains(phrase, problems);
    }

    public static TheoryData<LayerSpec[], int[], string[]> Misfits => new()
    {
        { [new("conv2d") { Out = 4, Kernel = 29 }, new("flatten"), new("linear") { Out = 10 }], [1, 28, 28], ["model.layers[0] (conv2d): kernel 29 is larger than its input (28"] },
        { [new("flatten"), new("conv2d") { Out = 4, Kernel = 3 }], [1, 28, 28], ["model.layers[1] (conv2d): needs images", "[784]"] },
        { [new("flatten"), new("max_pool2d") { Kernel = 2 }], [1, 28, 28], ["model.layers[1] (max_pool2d): needs images", "[784]"] },
        { [new("conv2d") { Out = 6, Kernel = 3 }, new("group_norm") { Groups = 4 }], [1, 28, 28], ["groups 4 must divide the 6 channels"] },
        { [new("conv2d") { Out = 6, Kernel = 3 }, new("linear") { Out = 10 }], [1, 28, 28], ["gives [6, 26, 10] per example", "after a flatten"] },
        { [new("linear") { Out = 7 }], [20], ["gives [7] per example, but the data has 10 classes", "\"out\": 10"] },
        { [new("embedding") { Vocabulary = 10, Dim = 2 }, new("linear") { Out = 10 }], [1, 28, 28], ["needs token ids"] },
        { [new("linear") { Out = 65536 }, new("linear") { Out = 65536 }, new("flatten"), new("linear") { Out = 10 }], [65536, 1], ["2^31"] },
    };

    [Theory, MemberData(nameof(Misfits))]
    public void A_layer_that_does_not_fit_its_input_is_named_with_the_shapes(LayerSpec[] layers, int[] shape, string[] mustSay)
    {
        var e = Assert.Throws<ArgumentException>(() => ModelLayout.Plan(layers, shape, 10));
        foreach (var phrase in mustSay) Assert.Contains(phrase, e.Message);
    }

    public static TheoryData<string, string> SpecProblems => new()
    {
        { """{"model":{"kind":"mlp","layers":[{"type":"flatten"},{"type":"linear","out":10}]}}""", "model.layers: given with model.kind 'mlp'" },
        { """{"model":{"kind":"layers"}}""", "model.kind: \"layers\" needs model.layers" },
        { """{"model":{"hidden":[32],"layers":[{"type":"flatten"},{"type":"linear","out":10}]}}""", "model.hidden: sizes the presets only" },
        { """{"model":{"layers":[{"type":"flatten"},{"type":"linear","out":4}]}}""", "the data has 10 classes" },
        { """{"model":{"layers":[{"type":"embedding","vocabulary":50,"dim":4},{"type":"mean_tokens"},{"type":"linear","out":4}]},"dataset":{"kind":"synthetic"}}""", "which only dataset.kind \"synthetic-text\" gives" },
        { """{"model":{"layers":[{"type":"embedding","vocabulary":50,"dim":4},{"type":"mean_tokens"},{"type":"linear","out":4}]},"dataset":{"kind":"synthetic-text"}}""", "model.layers[0].vocabulary: 50 is smaller than dataset.synthetic_vocabulary (200)" },
        { """{"model":{"kind":"mlp"},"dataset":{"kind":"synthetic-text"}}""", "use model.kind \"text\" or a list that starts with an embedding" },
        { """{"model":{"kind":"text","vocabulary":1},"dataset":{"kind":"synthetic-text"}}""", "model.vocabulary" },
        { """{"model":{"layers":[{"type":"batch_norm"},{"type":"linear","out":10}]}}""", "use group_norm" },
    };

    [Theory, MemberData(nameof(SpecProblems))]
    public void A_job_spec_with_a_model_that_does_not_fit_its_data_is_refused_at_submission(string json, string mustSay)
    {
        var problems = JobSpecValidator.Problems(JobSpecJson.Parse(json));
        Assert.Contains(problems, p => p.Contains(mustSay, StringComparison.Ordinal));
    }

    [Fact]
    public void A_layer_list_spec_round_trips_and_a_valid_one_has_no_problem()
    {
        var json = """{"model":{"layers":[{"type":"conv2d","name":"features","out":8,"kernel":5,"stride":2},{"type":"tanh"},{"type":"flatten"},{"type":"linear","out":10}],"frozen":["features"]}}""";
        var spec = JobSpecJson.Parse(json);
        Assert.Empty(JobSpecValidator.Problems(spec));
        var again = JobSpecJson.Parse(JobSpecJson.Serialize(spec));
        Assert.Equal(spec.Model.Layers, again.Model.Layers);
        Assert.Equal("layers", again.Model.KindOrDefault);
        Assert.Equal(1 * 8 * 25 + 8 + 8 * 12 * 12 * 10 + 10, ModelSize.Parameters(again.Model, [1, 28, 28], 10));
    }
}
