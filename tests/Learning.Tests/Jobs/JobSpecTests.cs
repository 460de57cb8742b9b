using FedGrains.Learning.Datasets;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Gateways;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;

namespace FedGrains.Learning.Tests.Jobs;

public sealed class JobSpecTests
{
    [Fact]
    public void The_default_spec_is_valid_and_survives_a_json_round_trip()
    {
        var spec = new JobSpec { Gateways = [new GatewaySpec { Id = "a", Overrides = new HyperParameterOverrides { LearningRate = 0.1 } }] };

        Assert.Empty(JobSpecValidator.Problems(spec));
        var json = JobSpecJson.Serialize(spec);
        Assert.Contains("\"learning_rate\": 0.1", json);
        Assert.Equal(json, JobSpecJson.Serialize(JobSpecJson.Parse(json)));
    }

    [Fact]
    public void An_unknown_or_mistyped_field_is_named()
    {
        var unknown = Assert.Throws<JobSpecException>(() => JobSpecJson.Parse("""{ "defaults": { "learnin_rate": 0.1 } }"""));
        Assert.Contains("learnin_rate", unknown.Message);

        var mistyped = Assert.Throws<JobSpecException>(() => JobSpecJson.Parse("""{ "rounds": "many" }"""));
        Assert.Contains("$.rounds", mistyped.Message);
    }

    [Fact]
    public void Every_bad_value_is_reported_with_its_field()
    {
        var spec = new JobSpec
        {
            Rounds = 0,
            CohortSize = 50,
            Model = new Learning.Models.ModelSpec("transformer"),
            Dataset = new DatasetSpec { Partition = "random" },
            Privacy = new PrivacySpec { TargetEpsilon = -1, Delta = 0, NoiseLevel = "loud" },
            Gateways = [new GatewaySpec { Id = "a" }, new GatewaySpec { Id = "a", Overrides = new HyperParameterOverrides { ClippingNorm = -1 } }],
        };

        var problems = string.Join("\n", JobSpecValidator.Problems(spec));

        foreach (var field in new[] { "rounds", "cohort_size", "model.kind", "dataset.partition", "privacy.target_epsilon", "privacy.delta",
                     "privacy.noise_level", "appears 2 times", "gateways[1].overrides (merged with defaults).clipping_norm" })
            Assert.Contains(field, problems);
    }

    [Fact]
    public void Scattering_features_need_images_and_an_empty_hidden_list_is_a_linear_model()
    {
        var unknown = JobSpecValidator.Problems(new JobSpec { Dataset = new DatasetSpec { Features = "wavelets" } });
        Assert.Contains(unknown, p => p.StartsWith("dataset.features: 'wavelets' is not known"));
        var synthetic = JobSpecValidator.Problems(new JobSpec { Dataset = new DatasetSpec { Kind = "synthetic", Features = "scattering" } });
        Assert.Contains(synthetic, p => p.Contains("\"scattering\" needs images"));

        var linear = JobSpecJson.Parse("""{ "model": { "hidden": [] }, "dataset": { "features": "scattering" } }""");
        Assert.Empty(JobSpecValidator.Problems(linear));
        using var model = Learning.Models.ModelFactory.Create(linear.Model, linear.Dataset.Geometry().ExampleShape, 10, seed: 1);
        Assert.Equal(["out.weight", "out.bias"], model.named_parameters().Select(p => p.name));
        Assert.Equal([10L, 81 * 7 * 7], model.named_parameters().First().parameter.shape);
        using var cnn = Learning.Models.ModelFactory.Create(linear.Model with { Kind = "cnn" }, [81, 7, 7], 10, seed: 1);
        Assert.Equal([16L, 81, 3, 3], cnn.named_parameters().First().parameter.shape);
    }

    [Fact]
    public void A_local_plan_calibrates_noise_so_the_whole_job_meets_the_target()
    {
        var plan = LocalPlan.For(new HyperParameters { BatchSize = 256, LocalEpochs = 1 }, new PrivacySpec { TargetEpsilon = 3, Delta = 1e-5 }, 6000, 20);

        Assert.Equal(256.0 / 6000, plan.Settings.SampleRate, 12);
        Assert.Equal(24, plan.StepsPerRound);
        Assert.Equal(480, plan.PlannedSteps);
        Assert.True(plan.EpsilonClaimed);
        double epsilon = PrvAccountant.Epsilon(plan.Settings.SampleRate, plan.Settings.NoiseMultiplier, plan.PlannedSteps, 1e-5);
        Assert.InRange(epsilon, 2.99, 3.0);
        // The default accountant is the tighter one, so the same budget needs less noise than under RDP.
        var rdp = LocalPlan.For(new HyperParameters { BatchSize = 256, LocalEpochs = 1 }, new PrivacySpec { TargetEpsilon = 3, Delta = 1e-5, Accountant = "rdp" }, 6000, 20);
        Assert.InRange(RdpAccountant.Epsilon(rdp.Settings.SampleRate, rdp.Settings.NoiseMultiplier, rdp.PlannedSteps, 1e-5), 2.99, 3.0);
        Assert.True(plan.Settings.NoiseMultiplier < 0.96 * rdp.Settings.NoiseMultiplier);
    }

    [Fact]
    public void Batch_level_and_no_noise_claim_no_epsilon()
    {
        var h = new HyperParameters();
        Assert.False(LocalPlan.For(h, new PrivacySpec { NoiseLevel = "batch" }, 1000, 5).EpsilonClaimed);
        var none = LocalPlan.For(h, new PrivacySpec { NoiseLevel = "none" }, 1000, 5);
        Assert.False(none.EpsilonClaimed);
        Assert.Equal(0, none.Settings.NoiseMultiplier);
    }

    [Fact]
    public void Cohorts_are_seeded_samples_without_replacement()
    {
        var ids = Enumerable.Range(0, 10).Select(i => $"gw-{i}").ToArray();

        var cohort = CohortSampler.Select(ids, 4, jobSeed: 1, round: 3);

        Assert.Equal(4, cohort.Distinct().Count());
        Assert.Equal(cohort, CohortSampler.Select(ids, 4, 1, 3));
        Assert.Equal(ids, CohortSampler.Select(ids, 0, 1, 3));
        Assert.True(Enumerable.Range(1, 10).Select(r => string.Join(",", CohortSampler.Select(ids, 4, 1, r))).Distinct().Count() > 5);
    }
}

public sealed class DocumentedSpecTests
{
    [Fact]
    public void The_documented_layer_list_example_validates_with_the_shapes_the_docs_give()
    {
        var spec = JobSpecJson.Load(Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../docs/examples/own-cnn.json")));

        Assert.Empty(JobSpecValidator.Problems(spec));
        Assert.Equal("layers", spec.Model.KindOrDefault);
        var plan = Learning.Models.ModelFactory.Plan(spec.Model, [1, 28, 28], 10);
        Assert.Equal([32, 5, 5], plan.Single(l => l.Name == "conv2").Output);
        Assert.Equal(13_098, plan.Sum(l => l.Parameters));
    }

    [Fact]
    public void The_documented_personal_heads_example_validates_with_its_head_local()
    {
        var spec = JobSpecJson.Load(Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../docs/examples/personal-heads.json")));

        Assert.Empty(JobSpecValidator.Problems(spec));
        Assert.Equal(["out"], spec.Model.Local!);
        Assert.Equal(0.3, spec.Dataset.DirichletAlpha);
    }

    [Fact]
    public void The_example_spec_in_the_docs_parses_and_validates()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "../../../../../docs/examples/hospitals.json");

        var spec = JobSpecJson.Load(Path.GetFullPath(path));

        Assert.Empty(JobSpecValidator.Problems(spec));
        Assert.Equal(5, spec.ResolveGateways().Count);
        Assert.Equal(128, spec.Defaults.With(spec.ResolveGateways()[1].Overrides).BatchSize);
        // Its sites' files ship beside it and fit its dataset, so it runs as shipped from any working directory.
        var data = JobData.Load(spec);
        Assert.Equal([400, 300], spec.ResolveGateways().Where(g => g.Source is not null).Select(g => data.ForGateway(g).Count));
    }

    [Fact]
    public void A_gateway_source_is_a_folder_or_one_other_form_never_both()
    {
        JobSpec With(SiteSource source) => new() { Gateways = [new GatewaySpec { Id = "a", Source = source }] };

        Assert.Empty(JobSpecValidator.Problems(JobSpecJson.Parse("""{"gateways":[{"id":"a","source":{"folder":"ward"}}]}""")));
        Assert.Contains("gateways[0].source: give one of dataset (a name the site declares), csv, images and labels, or folder.",
            JobSpecValidator.Problems(With(new SiteSource { Folder = "ward", Csv = "ward.csv" })));
    }
}
