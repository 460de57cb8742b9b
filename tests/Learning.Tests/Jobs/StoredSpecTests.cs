using FedGrains.Learning.Jobs;
using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Tests.Jobs;

/// <summary>User input is read strictly; what the system stored is read tolerantly, so another release can read it.</summary>
public sealed class StoredSpecTests
{
    private const string FromAnotherRelease = """
        { "rounds": 4, "a_field_of_a_newer_release": { "x": 1 },
          "privacy": { "target_epsilon": 2, "local_update_dp": { "enabled": true, "clipping_bound": 0.25, "noise_multiplier": 2 } } }
        """;

    [Fact]
    public void A_stored_spec_with_unknown_fields_reads_and_keeps_every_known_value()
    {
        var spec = JobSpecJson.ParseStored(FromAnotherRelease);

        Assert.Equal(4, spec.Rounds);
        Assert.Equal(2, spec.Privacy.TargetEpsilon);
        Assert.True(spec.Privacy.LocalUpdateDp.Enabled);
        Assert.Equal(0.25, spec.Privacy.LocalUpdateDp.ClippingNorm); // the first format's name for it
        Assert.Equal(2, spec.Privacy.LocalUpdateDp.NoiseMultiplier);
    }

    [Fact]
    public void A_spec_a_person_wrote_with_an_unknown_field_is_refused_naming_it()
    {
        var e = Assert.Throws<JobSpecException>(() => JobSpecJson.Parse(FromAnotherRelease));
        Assert.Contains("a_field_of_a_newer_release", e.Message);
    }

    [Fact]
    public void A_stored_spec_round_trips()
    {
        var spec = new JobSpec { Rounds = 3, Seed = 11 };
        Assert.Equal(JobSpecJson.Serialize(spec), JobSpecJson.Serialize(JobSpecJson.ParseStored(JobSpecJson.Serialize(spec))));
    }

    [Fact]
    public void A_person_who_writes_a_renamed_field_is_told_its_new_name()
    {
        var e = Assert.Throws<JobSpecException>(() => JobSpecJson.Parse("""{ "privacy": { "local_update_dp": { "clipping_bound": 1 } } }"""));
        Assert.Contains("privacy.local_update_dp.clipping_bound was renamed clipping_norm", e.Message);
    }

    [Fact]
    public void A_field_given_twice_is_refused_not_silently_the_last_one()
    {
        var e = Assert.Throws<JobSpecException>(() => JobSpecJson.Parse(
            """{ "privacy": { "noise_level": "sample" }, "rounds": 3, "privacy": { "noise_level": "none" } }"""));
        Assert.Contains("at $.privacy: this field is given twice", e.Message);
        Assert.DoesNotContain("FedGrains.", e.Message); // no .NET type names
        Assert.Throws<JobSpecException>(() => JobSpecJson.Parse("""{ "defaults": { "batch_size": 64, "batch_size": 6000 } }"""));
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("")]
    public void Ids_that_cannot_name_a_key_or_a_file_are_refused(string id)
    {
        var problems = JobSpecValidator.Problems(new JobSpec { Gateways = [new GatewaySpec { Id = id }] });
        Assert.Contains(problems, p => p.StartsWith("gateways[0].id:"));
    }

    [Fact]
    public void A_huge_id_is_refused_without_being_echoed_back_whole()
    {
        var huge = new string('a', 100_000);
        var problem = Assert.Single(JobSpecValidator.Problems(new JobSpec { Gateways = [new GatewaySpec { Id = huge }] }), p => p.StartsWith("gateways[0].id:"));
        Assert.Contains("(100000 characters)", problem);
        Assert.True(problem.Length < 300, problem);
    }

    [Fact]
    public void An_empty_gateway_list_and_a_noise_level_in_another_case_are_refused()
    {
        Assert.Contains(JobSpecValidator.Problems(new JobSpec { Gateways = [] }), p => p.StartsWith("gateways: [] lists no gateway"));
        Assert.Contains(JobSpecValidator.Problems(new JobSpec { Privacy = new PrivacySpec { NoiseLevel = "SAMPLE" } }), p => p.StartsWith("privacy.noise_level: 'SAMPLE' is not known"));
    }
}
