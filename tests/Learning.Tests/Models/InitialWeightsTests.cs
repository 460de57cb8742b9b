using FedGrains.Learning.Codecs;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Models;

namespace FedGrains.Learning.Tests.Models;

/// <summary>A pretrained file's tensors put onto the model by name and shape, or refused with both lists.</summary>
public sealed class InitialWeightsTests
{
    private static readonly NamedTensor[] Model = [new("conv1.weight", [2, 1, 3, 3]), new("conv1.bias", [2]), new("out.weight", [4, 8]), new("out.bias", [4])];

    private static SafetensorsTensor Tensor(string name, params long[] shape) =>
        new(name, shape, Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(i => name.Length + i * 0.5f).ToArray());

    [Fact]
    public void PyTorch_names_are_mapped_by_prefix_and_the_values_land_in_the_models_order()
    {
        // PyTorch's nested module names, stored in another order than the model's.
        SafetensorsTensor[] file = [Tensor("classifier.bias", 4), Tensor("features.0.weight", 2, 1, 3, 3), Tensor("classifier.weight", 4, 8), Tensor("features.0.bias", 2)];
        var rename = new Dictionary<string, string> { ["features.0"] = "conv1", ["classifier"] = "out" };

        var flat = InitialWeights.Map(Model, file, rename);

        Assert.Equal([.. file[1].Values, .. file[3].Values, .. file[2].Values, .. file[0].Values], flat);
    }

    [Fact]
    public void Renaming_takes_whole_dotted_parts_and_the_longest_prefix()
    {
        var rename = new Dictionary<string, string> { ["features"] = "f", ["features.0"] = "conv1" };
        Assert.Equal("conv1.weight", InitialWeights.Renamed("features.0.weight", rename));
        Assert.Equal("f.01.weight", InitialWeights.Renamed("features.01.weight", rename));
        Assert.Equal("featuresx.weight", InitialWeights.Renamed("featuresx.weight", rename));
    }

    [Fact]
    public void A_file_that_does_not_fit_is_refused_with_both_lists()
    {
        SafetensorsTensor[] file = [Tensor("conv1.weight", 2, 1, 5, 5), Tensor("conv1.bias", 2), Tensor("fc.weight", 4, 8), Tensor("fc.bias", 4)];

        var e = Assert.Throws<ArgumentException>(() => InitialWeights.Map(Model, file, null));

        Assert.Contains("the file has no 'out.weight', 'out.bias'", e.Message);
        Assert.Contains("the model has no 'fc.weight', 'fc.bias'", e.Message);
        Assert.Contains("'conv1.weight' is [2, 1, 5, 5] in the file but [2, 1, 3, 3] in the model", e.Message);
        Assert.Contains("The model has conv1.weight [2, 1, 3, 3], conv1.bias [2], out.weight [4, 8], out.bias [4].", e.Message);
        Assert.Contains("The file has conv1.weight [2, 1, 5, 5], conv1.bias [2], fc.weight [4, 8], fc.bias [4].", e.Message);
        Assert.Contains("model.initial_weights_rename", e.Message);
    }

    [Fact]
    public void Two_tensors_renamed_onto_one_parameter_are_refused()
    {
        SafetensorsTensor[] file = [Tensor("a.weight", 4, 8), Tensor("out.weight", 4, 8)];
        var e = Assert.Throws<ArgumentException>(() => InitialWeights.Map([new("out.weight", [4, 8])], file, new Dictionary<string, string> { ["a"] = "out" }));
        Assert.Contains("both become 'out.weight'", e.Message);
    }

    [Fact]
    public void A_weight_that_is_not_finite_is_refused_by_name()
    {
        var bad = Tensor("out.bias", 4);
        bad.Values[2] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => InitialWeights.Map(Model, [Tensor("conv1.weight", 2, 1, 3, 3), Tensor("conv1.bias", 2), Tensor("out.weight", 4, 8), bad], null));
        Assert.Contains("'out.bias' holds a value that is not finite", e.Message);
        Assert.DoesNotContain("NaN,", e.Message);
    }

    [Fact]
    public void The_global_model_starts_from_the_file_and_not_from_the_seed()
    {
        var spec = new ModelSpec("mlp", [8]) { InitialWeights = "start.safetensors" };
        var (seeded, layout) = GlobalModel.Initial(spec with { InitialWeights = null }, [5], 3, jobSeed: 1);
        var values = Enumerable.Range(0, seeded.Length).Select(i => i / 100f).ToArray();
        var file = Safetensors.Write([new("fc1.weight", [8, 5]), new("fc1.bias", [8]), new("out.weight", [3, 8]), new("out.bias", [3])], values);

        var (weights, fileLayout) = GlobalModel.Initial(spec, [5], 3, jobSeed: 1, file);

        Assert.Equal(values, weights);
        Assert.Equal(layout, fileLayout);
        var e = Assert.Throws<ArgumentException>(() => GlobalModel.Initial(spec, [5], 3, jobSeed: 1, file[..12]));
        Assert.Contains("model.initial_weights (start.safetensors)", e.Message);
    }
}
