using FedGrains.Learning.Codecs;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;
using TorchSharp;

namespace FedGrains.Learning.Tests.Training;

public sealed class PartialTrainingTests
{
    [Fact]
    public void Frozen_layers_are_neither_trained_nor_sent()
    {
        using var scope = torch.NewDisposeScope();
        var (train, _) = Learning.Data.SyntheticTask.Generate(seed: 3, trainCount: 1000, testCount: 10);
        var (x, y) = train.ToTensors();
        var spec = new ModelSpec("mlp", [64], Frozen: ["fc1"]);
        var (global, _) = GlobalModel.Initial(spec, train.ExampleShape, train.Classes, jobSeed: 1);
        var segments = GlobalModel.Segments(spec, train.ExampleShape, train.Classes);

        var (delta, _, _) = LocalTraining.Run(spec, x, y, train.Classes, global, new TrainerSettings(0.5, 1.0, 1.0, 0.1, Steps: 20), new Random(1), new GaussianNoise(2));

        long frozen = segments.Where(s => s.Frozen).Sum(s => s.Length);
        Assert.Equal(20 * 64 + 64, frozen);
        Assert.All(delta.Take((int)frozen), d => Assert.Equal(0f, d));
        Assert.Contains(delta.Skip((int)frozen), d => d != 0f);
        var sent = DeltaCodec.Encode(delta, segments, new CompressionSpec(), 1, 1, new Random(1));
        var all = DeltaCodec.Encode(delta, segments.Select(s => s with { Frozen = false }).ToArray(), new CompressionSpec(), 1, 1, new Random(1));
        Assert.Equal(all.Length - frozen * 4, sent.Length);
        Assert.Equal(delta, DeltaCodec.Decode(sent).Values);
    }

    [Fact]
    public void A_frozen_prefix_that_matches_nothing_or_everything_is_refused()
    {
        Assert.Contains("matches no parameter", Assert.Throws<ArgumentException>(() =>
            ModelFactory.Create(new ModelSpec("mlp", [8], Frozen: ["conv9"]), [4], 2, 1)).Message);
        Assert.Contains("every parameter", Assert.Throws<ArgumentException>(() =>
            ModelFactory.Create(new ModelSpec("mlp", [8], Frozen: ["fc1", "out"]), [4], 2, 1)).Message);
    }
}
