using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Data;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;
using FsCheck.Fluent;
using FsCheck.Xunit;
using FsCheck;
using TorchSharp;

namespace FedGrains.Learning.Tests.Aggregation;

public sealed class AggregationRuleTests
{
    private static WeightedDelta[] RandomUpdates(int seed, int count, int length)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(_ => new WeightedDelta(Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() * 20 - 10)).ToArray(), 1 + rng.Next(100)))
            .ToArray();
    }

    [Property(MaxTest = 50)]
    public Property Median_and_trimmed_mean_match_a_naive_sort_per_coordinate(PositiveInt count, int seed)
    {
        var updates = RandomUpdates(seed, 1 + count.Get % 9, 7);
        var median = new CoordinateMedianRule().Aggregate(updates);
        var trimmed = new TrimmedMeanRule(0.2).Aggregate(updates);
        int trim = (int)Math.Floor(0.2 * updates.Length);
        bool ok = Enumerable.Range(0, 7).All(i =>
        {
            var column = updates.Select(u => (double)u.Delta[i]).Order().ToArray();
            int n = column.Length;
            double m = n % 2 == 1 ? column[n / 2] : (column[n / 2 - 1] + column[n / 2]) / 2;
            double t = column.Skip(trim).Take(n - 2 * trim).Average();
            return Math.Abs(median[i] - m) < 1e-5 && Math.Abs(trimmed[i] - t) < 1e-4;
        });
        return ok.ToProperty();
    }

    [Property(MaxTest = 30)]
    public Property Rules_ignore_the_order_of_updates(int seed)
    {
        var updates = RandomUpdates(seed, 9, 5);
        var reversed = updates.Reverse().ToArray();
        IAggregationRule[] rules = [new WeightedMeanRule(), new CoordinateMedianRule(), new TrimmedMeanRule(0.1), new KrumRule(2), new KrumRule(2, 4)];
        return rules.All(r => r.Aggregate(updates).Zip(r.Aggregate(reversed)).All(p => Math.Abs(p.First - p.Second) < 1e-4)).ToProperty();
    }

    [Fact]
    public void Krum_chooses_among_the_honest_cluster_and_ignores_outliers()
    {
        var rng = new Random(1);
        var honest = Enumerable.Range(0, 7).Select(_ => new WeightedDelta([1f + (float)rng.NextDouble() * 0.1f, 2f], 1)).ToArray();
        var attackers = new[] { new WeightedDelta([-100f, 50f], 1), new WeightedDelta([80f, -90f], 1) };

        var krum = new KrumRule(2).Aggregate([.. honest, .. attackers]);
        var multi = new KrumRule(2, 5).Aggregate([.. attackers, .. honest]);

        Assert.InRange(krum[0], 1f, 1.1f);
        Assert.InRange(multi[0], 1f, 1.1f);
        Assert.Equal(2f, multi[1], 5);
        Assert.Throws<ArgumentException>(() => new KrumRule(3).Aggregate(honest));
    }
}

public sealed class ServerOptimizerTests
{
    [Fact]
    public void FedAvg_with_rate_one_adds_the_delta_and_FedAvgM_without_momentum_equals_it()
    {
        float[] w = [1, 2, 3], d = [0.5f, -1, 0];
        Assert.Equal([1.5f, 1f, 3f], new ServerOptimizer(new()).Step(w, d));
        Assert.Equal([1.5f, 1f, 3f], new ServerOptimizer(new(ServerOptimizerKind.FedAvgM, Beta1: 0)).Step(w, d));
    }

    [Theory]
    [InlineData(ServerOptimizerKind.FedAdam)]
    [InlineData(ServerOptimizerKind.FedYogi)]
    [InlineData(ServerOptimizerKind.FedAdagrad)]
    public void Adaptive_optimizers_follow_reddi_et_al_for_two_steps_and_resume_from_a_checkpoint(ServerOptimizerKind kind)
    {
        var settings = new ServerOptimizerSettings(kind, LearningRate: 0.1, Beta1: 0.9, Beta2: 0.99, Tau: 1e-3);
        float[] w0 = [1, -1], d1 = [0.2f, -0.4f], d2 = [-0.1f, 0.3f];

        // Naive reference, in doubles, straight from Alg. 2 (v starts at tau^2).
        double[] m = [0, 0], v = [1e-6, 1e-6], w = [1, -1];
        foreach (var d in new[] { d1, d2 })
            for (int i = 0; i < 2; i++)
            {
                double g = d[i];
                m[i] = kind == ServerOptimizerKind.FedAdagrad ? g : 0.9 * m[i] + 0.1 * g;
                v[i] = kind switch
                {
                    ServerOptimizerKind.FedAdagrad => v[i] + g * g,
                    ServerOptimizerKind.FedAdam => 0.99 * v[i] + 0.01 * g * g,
                    _ => v[i] - 0.01 * g * g * Math.Sign(v[i] - g * g),
                };
                w[i] += 0.1 * m[i] / (Math.Sqrt(v[i]) + 1e-3);
            }

        var first = new ServerOptimizer(settings);
        var w1 = first.Step(w0, d1);
        var checkpoint = CheckpointCodec.Decode(CheckpointCodec.Encode(new AggregationCheckpoint(null, null, first.FirstMoment, first.SecondMoment)))!;
        var resumed = new ServerOptimizer(settings, checkpoint.FirstMoment, checkpoint.SecondMoment).Step(w1, d2);

        Assert.Equal(w[0], resumed[0], 4);
        Assert.Equal(w[1], resumed[1], 4);
        Assert.Equal(first.Step(w1, d2), resumed);
    }
}

public sealed class NormStageTests
{
    [Property(MaxTest = 50)]
    public Property Clipped_updates_have_norm_at_most_the_bound_and_zeroing_drops_the_rest(int seed)
    {
        var rng = new Random(seed);
        var updates = Enumerable.Range(0, 8).Select(k => ($"g{k}", new WeightedDelta(
            Enumerable.Range(0, 10).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray(), 1))).ToArray();
        var dropped = new List<(string, string)>();
        var clipped = new NormStage(new NormBound(false, 1.5, 0.5, 0.2), zeroing: false).Apply(updates, dropped);
        var zeroed = new NormStage(new NormBound(false, 3.0, 0.5, 0.2), zeroing: true).Apply(updates, dropped);

        bool clipOk = clipped.Count == 8 && clipped.All(c => UpdateNorms.L2(c.Update.Delta) <= 1.5 * (1 + 1e-5));
        int over = updates.Count(u => UpdateNorms.L2(u.Item2.Delta) > 3.0);
        bool zeroOk = zeroed.Count == 8 - over && dropped.Count == over && zeroed.All(z => UpdateNorms.L2(z.Update.Delta) <= 3.0);
        return (clipOk && zeroOk).ToProperty();
    }

    [Fact]
    public void Adaptive_clipping_tracks_the_target_quantile_of_the_norms()
    {
        // Norms uniform on [0, 10]: the 0.8 quantile is 8.
        var stage = new NormStage(new NormBound(true, Initial: 1.0, TargetQuantile: 0.8, LearningRate: 0.2), zeroing: false);
        var rng = new Random(4);
        for (int round = 0; round < 400; round++)
        {
            var updates = Enumerable.Range(0, 20).Select(k => ($"g{k}", new WeightedDelta([(float)(rng.NextDouble() * 10)], 1))).ToArray();
            stage.Apply(updates, []);
        }
        Assert.InRange(stage.Estimate, 7.0, 9.0);
    }
}

public sealed class ByzantineRobustnessTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>
    /// 10 gateways on the synthetic task without DP noise; 2 of them send their delta sign-flipped and scaled by 10.
    /// The mean is dragged away; median, trimmed mean and Krum stay within 2 points of the honest run.
    /// </summary>
    [Fact]
    public void Robust_rules_keep_accuracy_under_two_byzantine_gateways_while_the_mean_degrades()
    {
        using var scope = torch.NewDisposeScope();
        var (train, test) = SyntheticTask.Generate(seed: 21, trainCount: 10000, testCount: 2000, features: 20, classes: 4);
        var shards = Partitioner.Iid(train.Count, 10, seed: 1).Select(ix => train.Subset(ix).ToTensors()).ToArray();
        var (tx, ty) = test.ToTensors();
        var model = new ModelSpec("mlp", [32]);

        double Run(string rule, bool attack)
        {
            var (weights, _) = GlobalModel.Initial(model, train.ExampleShape, train.Classes, jobSeed: 5);
            var spec = new AggregationSpec { Rule = rule, TrimBeta = 0.2, Byzantine = 2 };
            AggregationCheckpoint? checkpoint = null;
            for (int round = 0; round < 12; round++)
            {
                var updates = new List<GatewayDelta>();
                for (int k = 0; k < 10; k++)
                {
                    var settings = new TrainerSettings(0.5, 1.0, 0, 0.1, Steps: 10, NoiseLevel.None);
                    var (delta, _, _) = LocalTraining.Run(model, shards[k].Features, shards[k].Labels, train.Classes, weights, settings, new Random(round * 10 + k), new GaussianNoise(1));
                    if (attack && k < 2) delta = delta.Select(v => -10 * v).ToArray();
                    updates.Add(new GatewayDelta($"gw-{k}", delta, 1000));
                }
                var result = AggregationPipeline.Run(spec, weights, updates, checkpoint);
                (weights, checkpoint) = (result.Weights, result.Checkpoint);
            }
            return GlobalModel.Evaluate(model, weights, tx, ty, train.Classes).Accuracy;
        }

        double honest = Run("mean", attack: false);
        double attackedMean = Run("mean", attack: true);
        output.WriteLine($"honest mean {honest:P1}, attacked mean {attackedMean:P1}");
        Assert.True(honest > 0.8, $"honest accuracy {honest}");
        Assert.True(attackedMean < honest - 0.1, $"mean under attack {attackedMean} vs honest {honest}");
        foreach (var rule in new[] { "median", "trimmed_mean", "krum", "multi_krum" })
        {
            double robust = Run(rule, attack: true);
            output.WriteLine($"attacked {rule} {robust:P1}");
            Assert.True(robust >= honest - 0.02, $"{rule} under attack {robust} vs honest {honest}");
        }
    }
}

public sealed class AggregationSpecTests
{
    [Fact]
    public void Bad_aggregation_settings_are_named()
    {
        var spec = new JobSpec
        {
            MinUpdatesPerRound = 3,
            Aggregation = new AggregationSpec
            {
                Rule = "krum",
                Byzantine = 2,
                TrimBeta = 0.7,
                Clipping = new NormStageSpec { Mode = "adaptive", Bound = 1, TargetQuantile = 1.5, LearningRate = 0.2 },
                ServerOptimizer = new ServerOptimizerSpec { Kind = "sgd" },
            },
        };

        var problems = string.Join("\n", JobSpecValidator.Problems(spec));

        Assert.Contains("min_updates_per_round: Krum with aggregation.byzantine=2 needs more than 6", problems);
        Assert.Contains("aggregation.trim_beta", problems);
        Assert.Contains("aggregation.clipping: adaptive mode needs target_quantile", problems);
        Assert.Contains("aggregation.server_optimizer.kind: 'sgd'", problems);
        Assert.Empty(JobSpecValidator.Problems(new JobSpec()));
    }
}

public sealed class HarmfulUpdateTests
{
    [Fact]
    public void An_update_that_raises_the_validation_loss_is_dropped_and_honest_ones_are_kept()
    {
        using var scope = torch.NewDisposeScope();
        var (train, test) = SyntheticTask.Generate(seed: 4, trainCount: 2000, testCount: 600);
        var (x, y) = train.ToTensors();
        var (vx, vy) = test.ToTensors();
        var model = new ModelSpec("mlp", [16]);
        var (weights, _) = GlobalModel.Initial(model, train.ExampleShape, train.Classes, jobSeed: 2);
        var settings = new TrainerSettings(0.5, 1.0, 0, 0.1, Steps: 20, NoiseLevel.None);
        var (honest, _, _) = LocalTraining.Run(model, x, y, train.Classes, weights, settings, new Random(1), new GaussianNoise(1));
        var poisoned = honest.Select(v => -20 * v).ToArray();
        var dropped = new List<(string, string)>();

        var kept = HarmfulUpdateFilter.Apply(weights, [new("honest", honest, 1), new("poisoned", poisoned, 1)], 0.05,
            w => GlobalModel.Evaluate(model, w, vx, vy, train.Classes).Loss, dropped);

        Assert.Equal(["honest"], kept.Select(k => k.GatewayId));
        var (id, reason) = Assert.Single(dropped);
        Assert.Equal("poisoned", id);
        Assert.StartsWith("harmful: validation loss", reason);
    }
}
