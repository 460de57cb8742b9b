using FedGrains.Learning.Datasets;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.Training;

namespace FedGrains.Learning.Tests.Jobs;

/// <summary>Sizes that cannot fit are refused from the spec with the estimate, before anything is allocated.</summary>
public sealed class MemoryEstimateTests
{
    [Fact]
    public void The_training_estimate_counts_the_model_copies_and_the_batchs_activations()
    {
        var model = new ModelSpec("mlp", [256]);
        long parameters = ModelSize.Parameters(model, [784], 10);
        var h = new HyperParameters { BatchSize = 256 };

        double bytes = MemoryEstimate.Training(model, [784], 10, h);

        Assert.Equal(4.0 * parameters * 4 + 2.0 * 256 * (784 + 256 + 256 + 10) * 4, bytes); // input, fc1, its relu, out
        Assert.True(MemoryEstimate.Training(model, [784], 10, h with { Optimizer = "adam" }) > bytes, "Adam's moments count");
    }

    [Fact]
    public void A_model_that_cannot_fit_is_refused_with_the_estimate_the_machine_and_the_field_to_change()
    {
        var spec = new JobSpec { Model = new ModelSpec("mlp", [2_000_000_000]) };

        var e = Assert.Throws<ArgumentException>(() => MemoryEstimate.CheckGateway(spec, spec.Defaults, [784], 10, "gw-00"));

        Assert.Contains("gateway 'gw-00'", e.Message);
        Assert.Contains("GiB", e.Message);
        Assert.Contains("model.hidden", e.Message);
    }

    [Fact]
    public void The_default_job_fits()
    {
        var spec = new JobSpec();
        MemoryEstimate.CheckGateway(spec, spec.Defaults, [784], 10, "gw-00");
        MemoryEstimate.Check(MemoryEstimate.SyntheticData(spec.Dataset with { Kind = "synthetic" }), "data", "fix");
    }

    [Fact]
    public void Synthetic_data_too_large_to_generate_is_refused_before_generating()
    {
        var spec = new JobSpec { Dataset = new DatasetSpec { Kind = "synthetic", SyntheticFeatures = 1_000_000_000 } };

        var e = Assert.Throws<ArgumentException>(() => JobData.Load(spec));

        Assert.Contains("synthetic_features", e.Message);
    }
}
