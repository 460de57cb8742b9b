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
    private static Task<Orleans.TestingHost.InProcessTestCluster> StartOnAsync(string fixture)
    {
        var path = TestCluster.NewDatabasePath();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", fixture), path);
        return TestCluster.StartAsync(path, silos: 2);
    }

    /// <summary>
    /// Fixtures/state-v1-running.db: the first format's embedded process was killed (SIGKILL) in round 7 of 30 of
    /// v1-running (3 gateways on the synthetic task, 6 DP-SGD steps a round). This release resumes it to the end; the
    /// round in flight at the kill is not spent twice, so each gateway ends with exactly 30 rounds' steps, within its
    /// budget, and each site's ledger holds each round once.
    /// </summary>
    [Fact]
    public async Task A_job_the_first_format_left_running_resumes_to_the_end_without_spending_twice()
    {
        var cluster = await StartOnAsync("state-v1-running.db");
        try
        {
            var job = cluster.Client.GetGrain<IFederationGrain>("v1-running");
            var before = await job.GetStatusAsync();
            Assert.InRange(before.RoundsCompleted, 5, 7);

            var status = await TestCluster.WaitFinishedAsync(job);

            Assert.Equal(JobState.Completed, status.State);
            Assert.Equal(30, status.RoundsCompleted);
            Assert.Equal(30, (await job.GetHistoryAsync()).Count);
            foreach (var p in await job.GetGatewayPrivacyAsync())
            {
                Assert.Equal(30 * 6, p.Steps);
                Assert.InRange(p.Epsilon!.Value, 2.9, 3.0);
                var site = await cluster.Client.GetGrain<ISiteLedgerGrain>(p.GatewayId).GetReportAsync();
                var spend = Assert.Single(site.Jobs);
                Assert.Equal(30, spend.Releases);
                Assert.Equal(30 * 6, spend.Steps);
            }
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task State_written_by_the_first_format_reads_the_same()
    {
        var cluster = await StartOnAsync("state-v1.db");
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
