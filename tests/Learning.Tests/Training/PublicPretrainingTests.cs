using FedGrains.Learning.Datasets;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.Training;

namespace FedGrains.Learning.Tests.Training;

/// <summary>Data declared public is held at the federation apart from every gateway's, and version 0 may train on it.</summary>
public sealed class PublicPretrainingTests
{
    private static readonly DatasetSpec Synthetic = new() { Kind = "synthetic", PublicExamples = 500 };

    [Fact]
    public void The_public_examples_are_no_gateways_and_every_other_training_example_is_some_gateways()
    {
        string[] gateways = ["a", "b", "c"];
        var dataset = FederatedDataset.Load(Synthetic, jobSeed: 7, gateways);
        var withoutPublic = FederatedDataset.Load(Synthetic with { PublicExamples = 0 }, jobSeed: 7, gateways);

        Assert.Equal(500, dataset.Public!.Count);
        Assert.Null(withoutPublic.Public);
        var rows = gateways.SelectMany(g => Rows(dataset.ForGateway(g, null))).ToList();
        Assert.Equal(4000 - 500, rows.Count);
        var all = Rows(withoutPublic.Train).ToHashSet();
        var publicRows = Rows(dataset.Public).ToHashSet();
        Assert.Empty(publicRows.Intersect(rows));
        Assert.True(publicRows.All(all.Contains), "public examples come from the shared training set");
        Assert.Equal(all.Count, publicRows.Count + rows.Distinct().Count());
    }

    private static IEnumerable<string> Rows(Learning.Data.LabeledData data) =>
        Enumerable.Range(0, data.Count).Select(i => string.Join(",", data.Features.AsSpan(i * data.FeatureCount, data.FeatureCount).ToArray()));

    [Fact]
    public void Pretraining_on_public_data_lifts_the_starting_models_accuracy_reproducibly()
    {
        var model = new ModelSpec("mlp", [16]);
        var dataset = FederatedDataset.Load(Synthetic, jobSeed: 7, ["a"]);
        var (initial, _) = GlobalModel.Initial(model, dataset.ExampleShape, dataset.Classes, jobSeed: 7);
        var spec = new PublicPretrainingSpec { Epochs = 3 };

        var trained = PublicPretraining.Run(spec, model, dataset.Public!, dataset.Classes, initial, seed: 7);
        var again = PublicPretraining.Run(spec, model, dataset.Public!, dataset.Classes, initial, seed: 7);

        var (x, y) = dataset.Test.ToTensors();
        double before = GlobalModel.Evaluate(model, initial, x, y, dataset.Classes).Accuracy;
        double after = GlobalModel.Evaluate(model, trained, x, y, dataset.Classes).Accuracy;
        Assert.True(after > before + 0.2, $"accuracy {before:P1} before pretraining, {after:P1} after");
        Assert.Equal(trained, again);
        Assert.Same(initial, PublicPretraining.Run(new PublicPretrainingSpec(), model, dataset.Public!, dataset.Classes, initial, seed: 7));
    }

    [Theory]
    [InlineData("""{"dataset":{"kind":"synthetic","public_examples":4000}}""", "dataset.public_examples: 4000 must be >= 0 and leave training examples")]
    [InlineData("""{"dataset":{"kind":"synthetic","public_examples":-1}}""", "dataset.public_examples: -1")]
    [InlineData("""{"dataset":{"kind":"synthetic"},"public_pretraining":{"epochs":2}}""", "public_pretraining: needs data declared public")]
    [InlineData("""{"dataset":{"kind":"synthetic","public_examples":100},"public_pretraining":{"epochs":2,"learning_rate":0}}""", "public_pretraining.learning_rate: 0")]
    [InlineData("""{"dataset":{"kind":"fashion-mnist","public_examples":55000,"evaluation":"validation"}}""", "6000 held out for validation")]
    public void Public_data_that_leaves_the_gateways_nothing_or_pretraining_without_it_is_refused(string json, string mustSay)
    {
        Assert.Contains(JobSpecValidator.Problems(JobSpecJson.Parse(json)), p => p.Contains(mustSay, StringComparison.Ordinal));
    }
}
