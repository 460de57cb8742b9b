using FedGrains.Learning.Codecs;
using FedGrains.Learning.Data;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Gateways;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;

namespace FedGrains.Learning.Tests.Models;

/// <summary>Personal layers (model.local): where they sit, how a gateway trains and keeps them, what it holds out, what it is charged.</summary>
public sealed class PersonalizationTests
{
    private static readonly ModelSpec Mlp = new("mlp", [8]) { Local = ["out"] };

    [Fact]
    public void Local_layers_are_found_by_name_and_taken_out_and_put_back_exactly()
    {
        using var model = ModelFactory.Create(Mlp, [5], 3, seed: 1);
        var local = LocalLayers.Of(model, Mlp);
        int body = 5 * 8 + 8;
        Assert.Equal(8 * 3 + 3, local.Count);
        Assert.False(local.Contains(body - 1));
        Assert.True(local.Contains(body));
        var weights = ModelWeights.Read(model);
        var head = local.Extract(weights);
        Assert.Equal(weights[body..], head);
        var other = new float[weights.Length];
        local.Apply(other, head);
        Assert.Equal(head, other[body..]);
        Assert.All(other[..body], v => Assert.Equal(0f, v));
        Assert.Contains("hold 2 values", Assert.Throws<ArgumentException>(() => local.Apply(other, new float[2])).Message);
        Assert.Equal(0, LocalLayers.Of(model, Mlp with { Local = null }).Count);
    }

    [Fact]
    public void A_held_out_split_is_disjoint_complete_and_the_same_for_the_same_seed()
    {
        var data = new LabeledData([.. Enumerable.Range(0, 100).Select(i => (float)i)], [.. Enumerable.Range(0, 100).Select(i => i % 2)], [1], 2);
        var (train, held) = HeldOut.Split(data, 0.1, seed: 3);
        Assert.Equal(10, held.Count);
        Assert.Equal(90, train.Count);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (float)i), train.Features.Concat(held.Features).Order());
        Assert.Equal(held.Features, HeldOut.Split(data, 0.1, seed: 3).HeldOut.Features);
        Assert.NotEqual(held.Features, HeldOut.Split(data, 0.1, seed: 4).HeldOut.Features);
        var one = new LabeledData([1f], [0], [1], 2);
        Assert.Contains("too few", Assert.Throws<ArgumentException>(() => HeldOut.Split(one, 0.1, 1)).Message);
    }

    [Fact]
    public void A_gateway_trains_from_its_own_local_layers_returns_the_new_ones_and_sends_none()
    {
        var spec = new JobSpec
        {
            Model = Mlp,
            Dataset = new() { Kind = "synthetic", SyntheticFeatures = 5, SyntheticClasses = 3, SyntheticTrainExamples = 4000 },
            Defaults = new HyperParameters { BatchSize = 50, LearningRate = 0.5 },
        };
        var data = JobData.Load(spec);
        var (x, y) = data.ForGateway(spec.ResolveGateways()[0]).ToTensors();
        var plan = LocalPlan.For(spec.Defaults, spec.Privacy with { Delta = 1e-3 }, (int)x.shape[0], 5, spec.Personalization.Charge(spec.Model));
        var (initial, layout) = GlobalModel.Initial(spec.Model, [5], 3, spec.Seed);
        var global = WeightBuffer.Decode(WeightBuffer.Encode(initial, WeightKind.Weights, 0, layout));
        int body = 5 * 8 + 8;
        var own = Enumerable.Repeat(0.25f, 8 * 3 + 3).ToArray();

        var (bytes, _, trained) = GatewayRound.Run(spec, "gw-00", plan, x, y, 3, global, 1, new SeededNoiseSources(), CancellationToken.None, own);

        var delta = DeltaCodec.Decode(bytes).Values;
        Assert.All(delta[body..], v => Assert.Equal(0f, v)); // omitted on the wire
        Assert.Contains(delta[..body], v => v != 0);
        Assert.NotNull(trained);
        Assert.NotEqual(own, trained);
        // Trained from its own layers, not the global ones: the same round from the global layers ends elsewhere.
        var (_, _, fromGlobal) = GatewayRound.Run(spec, "gw-00", plan, x, y, 3, global, 1, new SeededNoiseSources(), CancellationToken.None);
        Assert.NotEqual(trained, fromGlobal);
        Assert.True(bytes.Length < DeltaCodec.Encode(new float[initial.Length], GlobalModel.Segments(spec.Model with { Local = null }, [5], 3),
            new CompressionSpec(), 0, layout, new Random(1)).Length);
    }

    [Fact]
    public void Noise_from_central_or_distributed_DP_is_not_applied_to_layers_no_gateway_sends()
    {
        var spec = new ModelSpec("mlp", [8, 4], Frozen: ["fc1"]) { Local = ["out"] };
        var current = Enumerable.Range(0, 5 * 8 + 8 + 8 * 4 + 4 + 4 * 3 + 3).Select(i => (float)i).ToArray();
        var next = current.Select(v => v + 1).ToArray();
        GlobalModel.KeepUnsent(spec, [5], 3, current, next);
        int fc1 = 5 * 8 + 8, fc2 = 8 * 4 + 4;
        Assert.Equal(current[..fc1], next[..fc1]);
        Assert.Equal(current[..fc1].Length, fc1);
        Assert.All(Enumerable.Range(fc1, fc2), i => Assert.Equal(current[i] + 1, next[i]));
        Assert.Equal(current[(fc1 + fc2)..], next[(fc1 + fc2)..]);
    }

    [Fact]
    public void The_personal_accuracy_is_planned_into_the_calibration_and_charged_once()
    {
        var h = new HyperParameters { BatchSize = 256, LocalEpochs = 1 };
        var privacy = new PrivacySpec { TargetEpsilon = 3, Delta = 1e-5 };
        var charge = new PersonalizationSpec().Charge(Mlp)!;
        var plain = LocalPlan.For(h, privacy, 5400, 20);
        var personal = LocalPlan.For(h, privacy, 5400, 20, charge);
        Assert.True(personal.Settings.NoiseMultiplier > plain.Settings.NoiseMultiplier);
        Assert.Equal(plain.Charges(1).Select(c => (c.SampleRate, c.Steps)), personal.Charges(1).Select(c => (c.SampleRate, c.Steps))); // the same steps per round
        Assert.Equal([.. personal.Charges(20), charge], personal.JobCharges(20));
        Assert.InRange(PrivacyAccountants.Prv.Epsilon(personal.JobCharges(20), 1e-5), 2.95, 3.0 + 1e-6);
        Assert.Null(new PersonalizationSpec { AccuracyNoiseMultiplier = 0 }.Charge(Mlp));
        Assert.Null(new PersonalizationSpec().Charge(new ModelSpec("mlp", [8])));
    }

    [Fact]
    public void The_released_accuracy_is_the_noised_count_over_the_examples_clamped()
    {
        Assert.Equal(0.5, PersonalAccuracy.Release(50, 100, 0, new GaussianNoise(1)));
        var draws = Enumerable.Range(0, 2000).Select(i => PersonalAccuracy.Release(500, 1000, 10, new GaussianNoise((ulong)i))).ToArray();
        Assert.InRange(draws.Average(), 0.498, 0.502);
        double sd = Math.Sqrt(draws.Select(d => (d - 0.5) * (d - 0.5)).Average());
        Assert.InRange(sd, 0.009, 0.011); // z / n = 10 / 1000
        Assert.All(Enumerable.Range(0, 100), i => Assert.InRange(PersonalAccuracy.Release(100, 100, 1000, new GaussianNoise((ulong)i)), 0, 1));
    }

    [Theory]
    [InlineData("\"model\": {\"local\": [\"fc9\"]}", "'fc9' names no layer with parameters; this model's are fc1, out")]
    [InlineData("\"model\": {\"local\": [\"relu1\"]}", "'relu1' names no layer with parameters")]
    [InlineData("\"model\": {\"local\": [\"fc1\", \"out\"]}", "leaves no layer to train together")]
    [InlineData("\"model\": {\"local\": [\"out\"], \"frozen\": [\"out\"]}", "is also in model.frozen")]
    [InlineData("\"model\": {\"local\": []}", "model.local: [] lists no layer")]
    [InlineData("\"personalization\": {\"held_out_fraction\": 0.2}", "applies to the layers listed in model.local")]
    [InlineData("\"model\": {\"local\": [\"out\"]}, \"personalization\": {\"held_out_fraction\": 0.9}", "held_out_fraction: 0.9 must be in (0, 0.5]")]
    [InlineData("\"model\": {\"local\": [\"out\"]}, \"personalization\": {\"accuracy_noise_multiplier\": -1}", "accuracy_noise_multiplier: -1 must be in [0, 1000]")]
    public void A_spec_with_unusable_personal_layers_is_refused_with_the_fix(string fields, string expected)
    {
        var problems = JobSpecValidator.Problems(JobSpecJson.Parse($$"""{"dataset": {"kind": "synthetic"}, {{fields}}}"""));
        Assert.Contains(problems, p => p.Contains(expected));
    }

    [Fact]
    public void A_spec_with_a_local_head_is_valid()
    {
        Assert.Empty(JobSpecValidator.Problems(JobSpecJson.Parse("""{"dataset": {"kind": "synthetic"}, "model": {"local": ["out"]}, "personalization": {"accuracy_noise_multiplier": 0}}""")));
    }
}
