using System.Collections.Concurrent;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.SecureAggregation;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Security;

/// <summary>
/// Signed SecAgg+ with the deployment's certificates (from `fedgrains provision`): the federation's silo holds a silo
/// certificate, the site silo site hospital-a's, and its gateways sign their round keys and the survivor set with it.
/// The federation's silo then lies as a malicious federation would: it relays keys it made itself in place of one
/// neighbour's, and tells one gateway a different survivor set than the one it signed. Both gateways refuse and drop
/// out of the round; the others' sum is still unmasked. (The transport here is Orleans' in-process one: mutual TLS
/// itself is covered by TlsTests and the multi-process tests.)
/// </summary>
public sealed class SignedSecureAggregationTests
{
    [Fact]
    public async Task Gateways_sign_with_their_sites_certificate_and_refuse_keys_or_survivor_sets_the_federation_made_up()
    {
        using var folders = new TlsFolders();
        var federationCredentials = TlsCredentials.Load(folders.Settings(folders.Ours_("silo-op.pfx")), forSilo: true, TimeProvider.System);
        var siteCredentials = TlsCredentials.Load(folders.Settings(folders.Ours_("site-hospital-a.pfx")), forSilo: true, TimeProvider.System);
        var seen = new ConcurrentBag<SecAggKeys>();
        var refusals = new ConcurrentBag<string>();
        int survivorSignatures = 0;
        var database = TestCluster.NewDatabasePath();
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((options, silo) =>
        {
            bool site = options.SiloName != TestCluster.PrimarySilo;
            silo.AddFedGrainsSqliteStorage(database);
            silo.AddFedGrains(new FedGrainsSiloOptions
            {
                HostsGateways = site, Site = site ? "hospital-a" : null, Device = "cpu", TorchThreads = 1, SeededNoiseForTests = true, RoundTickMilliseconds = 20,
            });
            if (site) silo.AddFedGrainsSite(new SiteOptions());
            silo.Services.AddSingleton(new SecAggSigning(site ? siteCredentials : federationCredentials));
            if (site) return;
            silo.AddOutgoingGrainCallFilter(async context =>
            {
                var target = context.TargetId.ToString();
                var lying = target.Contains("/signed-lie/", StringComparison.Ordinal);
                switch (context.InterfaceMethod?.Name)
                {
                    case nameof(IGatewayGrain.ShareKeysAsync):
                        var relayed = (IReadOnlyList<SecAggKeys>)context.Request.GetArgument(1)!;
                        foreach (var k in relayed) seen.Add(k);
                        // To gw-00, gw-01's keys with a mask key the federation made: it could then derive their pairwise mask.
                        if (lying && target.EndsWith("/gw-00", StringComparison.Ordinal))
                            context.Request.SetArgument(1, relayed.Select(k => k.Index == 2 ? k with { MaskPublicKey = X25519Key.Generate().PublicKey } : k).ToList());
                        break;
                    case nameof(IGatewayGrain.SignSurvivorsAsync):
                        Interlocked.Increment(ref survivorSignatures);
                        break;
                    case nameof(IGatewayGrain.UnmaskAsync) when lying && target.EndsWith("/gw-02", StringComparison.Ordinal):
                        // gw-02 is told that gw-05 dropped (to get gw-05's mask-key share) while the others signed that it survived.
                        var request = (UnmaskRequest)context.Request.GetArgument(1)!;
                        context.Request.SetArgument(1, request with { Survivors = request.Survivors.Where(i => i != 6).ToArray(), Dropped = [.. request.Dropped, 6] });
                        break;
                }
                try { await context.Invoke(); }
                catch (Exception e) when (lying)
                {
                    refusals.Add($"{target}: {e.Message}");
                    throw;
                }
            });
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        try
        {
            JobSpec Job() => TestCluster.SyntheticJob(rounds: 2, gateways: 6) with
            {
                Gateways = [.. Enumerable.Range(0, 6).Select(i => new GatewaySpec { Id = $"gw-{i:D2}", Site = "hospital-a" })],
                MinUpdatesPerRound = 2,
                Aggregation = new AggregationSpec { Secure = new SecureAggregationSpec { Enabled = true, Bits = 24, ClippingNorm = 10 } },
            };
            var honest = cluster.Client.GetGrain<IFederationGrain>("signed");
            await honest.StartAsync(Job());
            var done = await TestCluster.WaitFinishedAsync(honest);
            Assert.True(done.State == JobState.Completed, done.Error);
            Assert.All(await honest.GetHistoryAsync(), r =>
            {
                Assert.Equal(6, r.Participants.Count);
                Assert.True(r.SecureSigned); // and the round's record says so
            });
            Assert.NotEmpty(seen);
            Assert.All(seen, k => Assert.Equal(siteCredentials.Certificate.RawData, k.Signer)); // signed with the site's certificate
            Assert.Equal(2 * 6, survivorSignatures); // the consistency check ran in both rounds

            var lied = cluster.Client.GetGrain<IFederationGrain>("signed-lie");
            await lied.StartAsync(Job());
            done = await TestCluster.WaitFinishedAsync(lied);
            Assert.True(done.State == JobState.Completed, done.Error);
            Assert.Contains(refusals, r => r.Contains("/gw-00") && r.Contains("are not signed for that gateway"));
            Assert.Contains(refusals, r => r.Contains("/gw-02") && r.Contains("other survivors than the set this gateway signed"));
            Assert.All(await lied.GetHistoryAsync(), r =>
            {
                Assert.DoesNotContain("gw-00", r.Participants); // it dropped before masking: its delta is in no sum
                Assert.Contains(r.Rejected, x => x.GatewayId == "gw-00" && x.Reason.Contains("not signed for that gateway"));
            });
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }
}
