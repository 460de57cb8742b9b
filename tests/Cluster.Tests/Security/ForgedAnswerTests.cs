using FedGrains.Grains.Interfaces;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Security;

/// <summary>
/// Answers a gateway gets from its site, forged as a client that writes Orleans' wire protocol could: Orleans matches
/// a response to a pending call by its id alone. A filter on the gateway's silo stands in for such a client: it
/// answers the site ledger's spend itself (the call never reaches the ledger), or replays the ledger's first genuine
/// answer to later calls. Unsealed, either would let a gateway train with nothing recorded at its site.
/// </summary>
public sealed class ForgedAnswerTests
{
    private static async Task<(JobStatus Status, IReadOnlyList<RoundRecord> History, long SiteReleases, long GatewayReleases)> RunAsync(
        string jobId, Func<Sealed<string?>?, Sealed<string?>?> forge)
    {
        Sealed<string?>? firstGenuine = null;
        var cluster = await TestCluster.StartAsync(TestCluster.NewDatabasePath(), silos: 2, silo => silo.AddOutgoingGrainCallFilter(async context =>
        {
            if (context.InterfaceMethod?.Name != nameof(ISiteLedgerGrain.SpendAsync) || forge(firstGenuine) is not { } forged)
            {
                await context.Invoke();
                if (context.InterfaceMethod?.Name == nameof(ISiteLedgerGrain.SpendAsync)) firstGenuine ??= (Sealed<string?>)context.Result!;
                return;
            }
            context.Result = forged;
        }));
        try
        {
            var job = cluster.Client.GetGrain<IFederationGrain>(jobId);
            await job.StartAsync(TestCluster.SyntheticJob(rounds: 3, gateways: 1));
            var status = await TestCluster.WaitFinishedAsync(job);
            var site = await cluster.Client.GetGrain<ISiteLedgerGrain>("gw-00").GetReportAsync();
            var gateway = (await job.GetGatewayPrivacyAsync()).SingleOrDefault();
            return (status, await job.GetHistoryAsync(), site.Jobs.Sum(j => (long)j.Releases), gateway?.Releases ?? 0);
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_forged_recorded_answer_from_the_site_ledger_is_refused_and_nothing_is_trained()
    {
        var (status, history, siteReleases, gatewayReleases) = await RunAsync("forged-spend", _ => new Sealed<string?>(null, "forged"));

        Assert.Equal((0L, 0L), (siteReleases, gatewayReleases));
        Assert.NotEqual(JobState.Completed, status.State);
        Assert.Contains("is not sealed by a silo of this cluster", status.Error + string.Join(" ", history.SelectMany(r => r.Rejected).Select(r => r.Reason)));
    }

    [Fact]
    public async Task A_genuine_answer_replayed_to_a_later_spend_is_refused()
    {
        var (status, history, siteReleases, gatewayReleases) = await RunAsync("replayed-spend", first => first);

        // The first round's spend reached the ledger and was answered; the next got that answer replayed.
        Assert.Equal((1L, 1L), (siteReleases, gatewayReleases));
        Assert.NotEqual(JobState.Completed, status.State);
        Assert.Contains("replayed from another call", status.Error + string.Join(" ", history.SelectMany(r => r.Rejected).Select(r => r.Reason)));
    }
}
