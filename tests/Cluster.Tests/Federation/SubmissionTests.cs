using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;

namespace FedGrains.Cluster.Tests.Federation;

/// <summary>The silo reads a submitted spec strictly, whatever release the client is: nothing asked is dropped.</summary>
[Collection(nameof(SharedCluster))]
public sealed class SubmissionTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_submitted_field_the_silo_does_not_know_is_refused_naming_it_and_nothing_is_stored()
    {
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("unknown-field");
        var json = JobSpecJson.Serialize(TestCluster.SyntheticJob(rounds: 1)).Replace("\"privacy\": {", "\"privacy\": { \"a_newer_privacy_option\": true,");

        var e = await Assert.ThrowsAsync<ArgumentException>(() => job.StartAsync(new JobSubmission(json)));

        Assert.Contains("a_newer_privacy_option", e.Message);
        Assert.Null(await job.GetSpecAsync());
        Assert.Equal(JobState.NotStarted, (await job.GetStatusAsync()).State);
    }
}
