using FedGrains.Grains.Interfaces;

namespace FedGrains.Cluster.Tests.Storage;

/// <summary>
/// A rolling upgrade: Fixtures/state-v1.db was written by the first state format (before schema versions, when the
/// spec rode in every round and ledgers held LedgerEntry/SiteCharge records) by two finished `fedgrains run` jobs on
/// the synthetic task: v1-job (3 gateways, 2 rounds) and v1-buffered (buffered, noised metrics). This release must
/// read every record as it was: job state, history, each gateway's ledger and each site's lifetime ledger.
/// </summary>
public sealed class StateUpgradeTests
{
    [Fact]
    public async Task State_written_by_the_first_format_reads_the_same()
    {
        var path = TestCluster.NewDatabasePath();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "state-v1.db"), path);
        var cluster = await TestCluster.StartAsync(path, silos: 2);
        try
        {
            var grains = cluster.Client;
            var job = grains.GetGrain<IFederationGrain>("v1-job");
            var status = await job.GetStatusAsync();
            Assert.Equal(JobState.Completed, status.State);
            Assert.Equal(2, status.RoundsCompleted);
            Assert.Equal(2, (await job.GetHistoryAsync()).Count);
            Assert.Equal(2, (await job.GetSpecAsync())!.Rounds);
            var privacy = (await job.GetGatewayPrivacyAsync()).OrderBy(p => p.GatewayId).ToArray();
            Assert.Equal(["gw-00", "gw-01", "gw-02"], privacy.Select(p => p.GatewayId));
            Assert.All(privacy, p =>
            {
                Assert.InRange(p.Epsilon!.Value, 2.998, 3.0);
                Assert.Equal(12, p.Steps);
                Assert.InRange(p.NoiseMultiplier, 1.376, 1.380);
                Assert.Equal("prv", p.Accountant);
            });

            var buffered = grains.GetGrain<IFederationGrain>("v1-buffered");
            Assert.Equal(JobState.Completed, (await buffered.GetStatusAsync()).State);
            var noised = (await buffered.GetGatewayPrivacyAsync()).Single(p => p.GatewayId == "gw-02");
            Assert.Equal(6, noised.Steps);
            Assert.InRange(noised.Epsilon!.Value, 2.291, 2.293);
            Assert.Equal(1, noised.MetricReleases);
            Assert.True(noised.MetricNoiseMultiplier > 0);

            // Each site's ledger: both jobs composed by the accountant, as the first format reported it (4.051).
            var site = await grains.GetGrain<ISiteLedgerGrain>("gw-00").GetReportAsync();
            Assert.InRange(site.Epsilon, 4.050, 4.052);
            Assert.Equal(["v1-job", "v1-buffered"], site.Jobs.Select(j => j.JobId));
            Assert.Equal(["gw-00", "gw-01", "gw-02"], (await grains.GetGrain<ISiteDirectoryGrain>(0).ListAsync()).Order());
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }
}
