using System.Security.Cryptography;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using FedGrains.Learning.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FedGrains.Cluster.Tests.Hosting;

/// <summary>
/// Sites as parties, in the production shape: redis-server over TLS only with a password, a federation silo and one silo per data
/// site (site-a, site-b, site-c), each with its own certificate from `fedgrains provision` (the site comes from the
/// certificate) and its own policy, mutual TLS everywhere, authentication on, and the CLI as a process. Site a's
/// admin approves each job (`fedgrains site approve`) before it trains. Every gateway runs on its own site's silo;
/// when one site's silo is killed its gateway is a dropout (site offline) and the job completes with the others.
/// </summary>
public sealed class SiteSilosTests : IAsyncLifetime
{
    private static readonly string RedisPassword = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
    private static readonly string ClientKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string AdminKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string GatewayKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string ClusterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string[] Sites = ["site-a", "site-b", "site-c"];
    private readonly string pki = Directory.CreateTempSubdirectory("fedgrains-sites-").FullName;
    private readonly List<ProcessRunner> processes = [];
    private int redisPort;

    private string Redis => $"127.0.0.1:{redisPort},password={RedisPassword},ssl=true";
    private string Ca => Path.Combine(pki, Provisioning.AuthorityFile);
    private string Pfx(CertificateKind kind, string name) => Path.Combine(pki, Provisioning.FileName(new CertificateIdentity(kind, name)));

    public Task InitializeAsync()
    {
        Provisioning.Run(new ProvisionRequest(pki, ["federation"], Sites, ["operator", "admin-a"], [], Redis: ["redis"]), TimeProvider.System);
        redisPort = HostBuilderExtensions.FreeTcpPort();
        // Redis over TLS only (no plaintext port), with the certificate the deployment's CA issued it, and a password.
        var redisCertificate = Path.Combine(pki, Provisioning.FileName(new CertificateIdentity(CertificateKind.Redis, "redis")));
        processes.Add(ProcessRunner.StartRedis(0, "--tls-port", redisPort.ToString(), "--tls-cert-file", redisCertificate,
            "--tls-key-file", Provisioning.RedisKeyFile(redisCertificate), "--tls-ca-cert-file", Ca, "--tls-auth-clients", "no", "--requirepass", RedisPassword));
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        foreach (var p in processes)
        {
            try { p.Dispose(); }
            catch (InvalidOperationException) { }
        }
        Directory.Delete(pki, true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Each_gateway_runs_on_its_sites_silo_a_killed_site_is_offline_and_the_job_completes()
    {
        await AssertRedisRefusesWithoutPasswordAsync();
        var federation = StartSilo(Pfx(CertificateKind.Silo, "federation"), siteSilo: false);
        // Site a's admin approves each job on its data; the others take any job inside their policy.
        var siloPorts = Sites.ToDictionary(s => s, s => StartSilo(Pfx(CertificateKind.Site, s), siteSilo: true,
            s == "site-a" ? ["--FedGrains:Site:Policy:RequireApproval=true"] : []));
        // Four silos starting at once on a loaded machine can take minutes; a submission before a site's silo joined
        // is refused with that site offline, which is not what this test is about.
        foreach (var silo in siloPorts.Values.Prepend(federation))
            Assert.Equal(System.Net.HttpStatusCode.OK, await ProcessRunner.WaitForHttpAsync($"http://127.0.0.1:{silo.HealthPort}/readyz", TimeSpan.FromMinutes(4)));
        using var client = await ConnectAsync();
        var grains = client.Services.GetRequiredService<IClusterClient>();

        // A job that breaks a site's policy is refused up front, naming the site, the rule and the numbers.
        var greedy = await SubmitAsync("greedy", Job(rounds: 3) with { Privacy = new Learning.Privacy.PrivacySpec { TargetEpsilon = 20, Delta = 1e-5 } });
        Assert.Equal(2, greedy.ExitCode);
        Assert.Contains("MaxEpsilonPerJob", greedy.Output);
        Assert.Contains("site site-", greedy.Output);

        // Enough rounds to outlast the signed job below: the kill must land with rounds to go (once admission got
        // faster, 24 rounds were nearly done by then and left one round to show the offline site).
        var submitted = await SubmitAsync("sites", Job(rounds: MainRounds));
        Assert.True(submitted.ExitCode == 0, submitted.Output);
        var job = grains.GetGrain<IFederationGrain>("sites");
        await WaitAsync(job, s => s.Waiting is not null);
        var waiting = await CliAsync(["status", "sites"], "operator", ClientKey);
        Assert.Contains("awaiting the approval of site(s) site-a", waiting.Output);
        Assert.Equal(0, (await job.GetStatusAsync()).RoundsCompleted);
        // The operator runs the cluster, but the decision is the site's: only site-a's own admin key makes it.
        var byOperator = await CliAsync(["site", "approve", "sites", "--site", "site-a"], "operator", ClientKey);
        Assert.True(byOperator.ExitCode == 5, byOperator.Output);
        Assert.Contains("may not approve or reject jobs", byOperator.Output);
        var requests = await CliAsync(["site", "requests", "--site", "site-a"], "admin-a", AdminKey);
        Assert.True(requests.ExitCode == 0, requests.Output);
        Assert.Contains("job sites (spec ", requests.Output);
        Assert.Contains("submitted by operator", requests.Output);
        Assert.Contains("gateway 'a': noise level sample", requests.Output);
        var shown = System.Text.RegularExpressions.Regex.Match(requests.Output, @"job sites \(spec ([0-9a-f]{12})\)").Groups[1].Value;
        var otherSpec = await CliAsync(["site", "approve", "sites", "--site", "site-a", "--spec", new string('0', 12)], "admin-a", AdminKey);
        Assert.True(otherSpec.ExitCode == 2, otherSpec.Output);
        Assert.Contains("nothing was decided", otherSpec.Output);
        var approved = await CliAsync(["site", "approve", "sites", "--site", "site-a", "--spec", shown], "admin-a", AdminKey);
        Assert.True(approved.ExitCode == 0, approved.Output);
        Assert.Contains("job sites at site site-a: approved by admin-a", approved.Output);
        await WaitAsync(job, s => s.RoundsCompleted >= 2);
        var placements = await job.GetGatewaysAsync();
        Assert.All(placements, p => Assert.Contains($":{siloPorts[p.Site].Port}:", p.Silo));

        // A secure job across the three site silos: its rounds are signed with the sites' certificates (mTLS is on),
        // each gateway checking its neighbours' keys and survivor signatures in another process.
        var secure = await SubmitAsync("signed", Job(rounds: 2) with
        {
            Aggregation = new Learning.Aggregation.AggregationSpec { Secure = new Learning.SecureAggregation.SecureAggregationSpec { Enabled = true, Bits = 24, ClippingNorm = 10 } },
        });
        Assert.True(secure.ExitCode == 0, secure.Output);
        var signedJob = grains.GetGrain<IFederationGrain>("signed");
        await WaitAsync(signedJob, s => s.Waiting is not null);
        var pending = await CliAsync(["site", "requests", "--site", "site-a"], "admin-a", AdminKey);
        var digest = System.Text.RegularExpressions.Regex.Match(pending.Output, @"job signed \(spec ([0-9a-f]{12})\)").Groups[1].Value;
        Assert.True((await CliAsync(["site", "approve", "signed", "--site", "site-a", "--spec", digest], "admin-a", AdminKey)).ExitCode == 0);
        var signedEnd = await WaitAsync(signedJob, s => s.State != JobState.Running, TimeSpan.FromMinutes(3));
        Assert.True(signedEnd.State == JobState.Completed, $"{signedEnd.State}: {signedEnd.Error}");
        Assert.All(await signedJob.GetHistoryAsync(), r =>
        {
            Assert.Equal(["a", "b", "c"], r.Participants.Order());
            Assert.True(r.SecureSigned);
        });

        // Read before the kill: right after it, a status call may wait out the client's timeout for the dead silo. One
        // more round may complete before the kill lands, and the round in flight then may still hold c's update.
        int killedAfter = (await job.GetStatusAsync()).RoundsCompleted + 1;
        siloPorts["site-c"].Silo.Kill();
        var end = await WaitAsync(job, s => s.State != JobState.Running, TimeSpan.FromMinutes(4));

        Assert.True(end.State == JobState.Completed, $"{end.State}: {end.Error}");
        var history = await job.GetHistoryAsync();
        Assert.Equal(Enumerable.Range(1, MainRounds), history.Select(r => r.Round));
        Assert.True(MainRounds - killedAfter >= 5, $"the kill landed after round {killedAfter} of {MainRounds}: too late to show the offline site");
        var later = history.Where(r => r.Round > killedAfter + 1).ToArray();
        Assert.All(later, r => Assert.Equal(["a", "b"], r.Participants));
        Assert.Contains(later, r => r.Rejected.Any(x => x.GatewayId == "c" && x.Reason.Contains("site 'site-c' is offline")));
        Assert.Contains((await job.GetGatewaysAsync()), p => p.Site == "site-c" && p.Silo is null);
    }

    private const int MainRounds = 120;

    private static JobSpec Job(int rounds) => TestCluster.SyntheticJob(rounds: rounds, gateways: 3) with
    {
        GatewayCount = 0,
        Gateways = [new GatewaySpec { Id = "a", Site = "site-a" }, new GatewaySpec { Id = "b", Site = "site-b" }, new GatewaySpec { Id = "c", Site = "site-c" }],
        RoundTimeoutSeconds = 30,
    };

    // What any process that reaches Redis gets: in plaintext, no answer at all; over TLS without the password, a
    // refusal, not the membership table or the keys.
    private async Task AssertRedisRefusesWithoutPasswordAsync()
    {
        using (var plain = await ConnectRedisAsync())
        {
            var stream = plain.GetStream();
            await stream.WriteAsync("KEYS *\r\n"u8.ToArray());
            var reply = new byte[256];
            int read;
            try { read = await stream.ReadAsync(reply).AsTask().WaitAsync(TimeSpan.FromSeconds(10)); }
            catch (IOException) { read = 0; } // reset by the server
            Assert.DoesNotContain("NOAUTH", System.Text.Encoding.ASCII.GetString(reply, 0, read));
            Assert.DoesNotContain("fedgrains", System.Text.Encoding.ASCII.GetString(reply, 0, read));
        }
        using var tcp = await ConnectRedisAsync();
        var authority = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(Ca);
        using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, certificate, chain, _) =>
        {
            chain!.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(authority);
            chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
            return chain.Build(new System.Security.Cryptography.X509Certificates.X509Certificate2(certificate!));
        });
        await tls.AuthenticateAsClientAsync("localhost");
        await tls.WriteAsync("KEYS *\r\n"u8.ToArray());
        var answer = new byte[256];
        int got = await tls.ReadAsync(answer);
        Assert.StartsWith("-NOAUTH", System.Text.Encoding.ASCII.GetString(answer, 0, got));
    }

    private async Task<System.Net.Sockets.TcpClient> ConnectRedisAsync()
    {
        for (int attempt = 0; ; attempt++)
        {
            var tcp = new System.Net.Sockets.TcpClient();
            try
            {
                await tcp.ConnectAsync("127.0.0.1", redisPort);
                return tcp;
            }
            catch (System.Net.Sockets.SocketException) when (attempt < 50)
            {
                tcp.Dispose();
                await Task.Delay(100); // redis-server still starting
            }
        }
    }

    private (ProcessRunner Silo, int Port, int HealthPort) StartSilo(string certificate, bool siteSilo, string[]? extra = null)
    {
        int siloPort = HostBuilderExtensions.FreeTcpPort(), healthPort = HostBuilderExtensions.FreeTcpPort();
        var silo = ProcessRunner.StartDotnet("FedGrains.Silo.dll",
        [
            "--FedGrains:Cluster:Provider=redis", $"--FedGrains:Cluster:Redis={Redis}", "--FedGrains:Storage:Provider=redis",
            "--FedGrains:Cluster:AdvertisedIPAddress=127.0.0.1", $"--FedGrains:Cluster:SiloPort={siloPort}",
            $"--FedGrains:Cluster:ClientPort={HostBuilderExtensions.FreeTcpPort()}", $"--FedGrains:Health:Port={healthPort}",
            "--FedGrains:Telemetry:Exporter=none", "--Logging:LogLevel:Default=Warning", "--FedGrains:Silo:TorchThreads=1",
            "--FedGrains:Silo:Device=cpu", "--FedGrains:Silo:SeededNoiseForTests=true", "--FedGrains:Silo:RoundTickMilliseconds=1000",
            $"--FedGrains:Silo:HostsGateways={siteSilo}", $"--FedGrains:Silo:Role={(siteSilo ? "gateway" : "federation")}",
            "--FedGrains:Tls:Enabled=true", $"--FedGrains:Tls:Certificate={certificate}", $"--FedGrains:Tls:CertificateAuthority={Ca}",
            "--FedGrains:Auth:Enabled=true", $"--FedGrains:Auth:ClusterKey={ClusterKey}",
            $"--FedGrains:Auth:ClientKeys:operator={ClientKey}", "--FedGrains:Auth:ClientRoles:operator=operator",
            $"--FedGrains:Auth:ClientKeys:admin-a={AdminKey}", "--FedGrains:Auth:ClientRoles:admin-a=site-admin:site-a",
            "--FedGrains:Site:Policy:MaxEpsilonPerJob=10",
            .. new[] { "a", "b", "c" }.Select(g => $"--FedGrains:Auth:GatewayKeys:{g}={GatewayKey}"), .. extra ?? [],
        ]);
        processes.Add(silo);
        return (silo, siloPort, healthPort);
    }

    private async Task<(int ExitCode, string Output)> SubmitAsync(string jobId, JobSpec spec)
    {
        var file = Path.Combine(pki, $"{jobId}.json");
        await File.WriteAllTextAsync(file, JobSpecJson.Serialize(spec));
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            using var cli = ProcessRunner.StartDotnet("fedgrains.dll",
            [
                "submit", "--spec", file, "--job-id", jobId, "--cluster", $"redis://{Redis}", "--credential", $"operator:{ClientKey}",
                "--tls-certificate", Pfx(CertificateKind.Client, "operator"), "--tls-ca", Ca,
            ]);
            var code = await cli.WaitAsync(TimeSpan.FromMinutes(3));
            // Exit 3 while the silos are still starting; a site offline (its silo not up yet) is refused too.
            if ((code != 3 && !cli.Output.Contains("is offline")) || DateTime.UtcNow > deadline) return (code, cli.Output);
            await Task.Delay(1000);
        }
    }

    /// <summary>The CLI as <paramref name="keyId"/>, with that client's own certificate.</summary>
    private async Task<(int ExitCode, string Output)> CliAsync(string[] args, string keyId, string key)
    {
        using var cli = ProcessRunner.StartDotnet("fedgrains.dll",
        [
            .. args, "--cluster", $"redis://{Redis}", "--credential", $"{keyId}:{key}",
            "--tls-certificate", Pfx(CertificateKind.Client, keyId), "--tls-ca", Ca,
        ]);
        return (await cli.WaitAsync(TimeSpan.FromMinutes(2)), cli.Output);
    }

    private async Task<IHost> ConnectAsync()
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.AddFedGrainsClient($"redis://{Redis}", $"operator:{ClientKey}",
                tls: new TlsSettings { Enabled = true, Certificate = Pfx(CertificateKind.Client, "operator"), CertificateAuthority = Ca });
            var host = builder.Build();
            try
            {
                await host.StartAsync();
                return host;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                host.Dispose();
                await Task.Delay(1000);
            }
        }
    }

    private static async Task<JobStatus> WaitAsync(IFederationGrain job, Func<JobStatus, bool> until, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(3));
        while (true)
        {
            try
            {
                var status = await job.GetStatusAsync();
                if (until(status)) return status;
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"job still {status.State} at round {status.RoundsCompleted}/{status.TotalRounds}: {status.Error}");
            }
            catch (Exception e) when (e is OrleansException or TimeoutException && DateTime.UtcNow < deadline) { } // a status call that went to the killed silo
            await Task.Delay(250);
        }
    }
}
