using System.Globalization;
using System.Security.Cryptography;
using FedGrains.Chaos;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FedGrains.Bench;

/// <summary>
/// `tls-rounds [ROUNDS] [PAIRS]`: round wall time of the default job (what `fedgrains submit` runs without a spec:
/// Fashion-MNIST, MLP 784-256-10, 10 IID gateways, epsilon 3) on a real two-silo Redis cluster (a federation silo and a
/// gateway silo, authentication on), with mutual TLS off and on, alternated for PAIRS pairs, each run on a fresh
/// redis-server and fresh silo processes, the same seed. Prints each run's median RoundRecord.Seconds over rounds
/// 2..ROUNDS (round 1 also loads the dataset and JIT-compiles), each pair's on/off ratio, and the median and range of
/// the ratios.
/// </summary>
internal static class TlsRoundsBench
{
    private static readonly string ClientKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string ClusterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string GatewayKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static async Task<int> RunAsync(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        int pairs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        if (rounds < 2 || pairs < 1) throw new ArgumentException("tls-rounds [ROUNDS >= 2] [PAIRS >= 1]");
        var pki = Directory.CreateTempSubdirectory("fedgrains-bench-tls-rounds-").FullName;
        try
        {
            Provisioning.Run(new ProvisionRequest(pki, ["federation", "gateway"], [], ["operator"], []), TimeProvider.System);
            var lines = new List<string>();
            var ratios = new List<double>();
            for (int pair = 1; pair <= pairs; pair++)
            {
                var off = await RunJobAsync(pki, tls: false, rounds, $"tls-rounds-{pair}-off");
                var on = await RunJobAsync(pki, tls: true, rounds, $"tls-rounds-{pair}-on");
                double ratio = on.Median / off.Median;
                ratios.Add(ratio);
                lines.Add($"pair {pair}: mTLS off {off.Median:F3} s (rounds {Seconds(off.All)}), on {on.Median:F3} s (rounds {Seconds(on.All)}); on/off = {ratio:F3}");
                Console.WriteLine(lines[^1]);
            }
            Console.WriteLine();
            Console.WriteLine($"default job (Fashion-MNIST, MLP 784-256-10, 10 gateways), {rounds} rounds a run, median round wall time over rounds 2..{rounds} (RoundRecord.Seconds):");
            lines.ForEach(l => Console.WriteLine("  " + l));
            Console.WriteLine($"  median on/off ratio over {pairs} pair(s) = {Median(ratios):F3} (range {ratios.Min():F3}-{ratios.Max():F3})");
            return 0;
        }
        finally
        {
            Directory.Delete(pki, true);
        }
    }

    private static string Seconds(IEnumerable<double> seconds) => string.Join(" ", seconds.Select(s => s.ToString("F2", CultureInfo.InvariantCulture)));

    private static async Task<(double Median, double[] All)> RunJobAsync(string pki, bool tls, int rounds, string jobId)
    {
        string password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        int redisPort = HostBuilderExtensions.FreeTcpPort();
        string redis = $"127.0.0.1:{redisPort},password={password}";
        var ca = Path.Combine(pki, Provisioning.AuthorityFile);
        string Pfx(CertificateKind kind, string name) => Path.Combine(pki, Provisioning.FileName(new CertificateIdentity(kind, name)));
        var processes = new List<ProcessRunner>();
        try
        {
            processes.Add(ProcessRunner.StartRedis(redisPort, "--requirepass", password));
            var health = new List<int>();
            foreach (var federation in new[] { true, false })
            {
                int healthPort = HostBuilderExtensions.FreeTcpPort();
                health.Add(healthPort);
                processes.Add(ProcessRunner.StartDotnet("FedGrains.Silo.dll",
                [
                    "--FedGrains:Cluster:Provider=redis", $"--FedGrains:Cluster:Redis={redis}", "--FedGrains:Storage:Provider=redis",
                    "--FedGrains:Cluster:AdvertisedIPAddress=127.0.0.1", $"--FedGrains:Cluster:SiloPort={HostBuilderExtensions.FreeTcpPort()}",
                    $"--FedGrains:Cluster:ClientPort={HostBuilderExtensions.FreeTcpPort()}", $"--FedGrains:Health:Port={healthPort}",
                    $"--FedGrains:Silo:HostsGateways={!federation}", $"--FedGrains:Silo:Role={(federation ? "federation" : "gateway")}",
                    "--FedGrains:Silo:Device=cpu", "--FedGrains:Telemetry:Exporter=none", "--Logging:LogLevel:Default=Warning",
                    "--FedGrains:Auth:Enabled=true", $"--FedGrains:Auth:ClusterKey={ClusterKey}",
                    $"--FedGrains:Auth:ClientKeys:operator={ClientKey}", "--FedGrains:Auth:ClientRoles:operator=operator",
                    .. Enumerable.Range(0, 10).Select(g => $"--FedGrains:Auth:GatewayKeys:gw-{g:D2}={GatewayKey}"),
                    .. tls
                        ? new[] { "--FedGrains:Tls:Enabled=true", $"--FedGrains:Tls:Certificate={Pfx(CertificateKind.Silo, federation ? "federation" : "gateway")}", $"--FedGrains:Tls:CertificateAuthority={ca}" }
                        : [],
                ], Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is null ? new Dictionary<string, string> { ["MALLOC_ARENA_MAX"] = "1" } : null));
            }
            await WaitReadyAsync(health, processes);
            string[] cluster = ["--cluster", $"redis://{redis}", "--credential", $"operator:{ClientKey}",
                .. tls ? new[] { "--tls-certificate", Pfx(CertificateKind.Client, "operator"), "--tls-ca", ca } : []];
            // The default job: no --spec, only the rounds (and the default seed, 42, given explicitly).
            var submitted = await ProcessRunner.RetryUntilUpAsync(() => ProcessRunner.RunCliAsync(["submit", "--rounds", $"{rounds}", "--seed", "42", "--job-id", jobId, .. cluster]));
            if (submitted.ExitCode != 0) throw new InvalidOperationException($"submit exited {submitted.ExitCode}: {submitted.Output}");

            using var client = await ConnectAsync(redis, tls ? new TlsSettings { Enabled = true, Certificate = Pfx(CertificateKind.Client, "operator"), CertificateAuthority = ca } : null);
            var job = client.Services.GetRequiredService<IClusterClient>().GetGrain<IFederationGrain>(jobId);
            var deadline = DateTime.UtcNow.AddMinutes(10 + rounds);
            JobStatus status;
            while ((status = await job.GetStatusAsync()).State == JobState.Running && DateTime.UtcNow < deadline) await Task.Delay(500);
            if (status.State != JobState.Completed) throw new InvalidOperationException($"job {jobId} ended {status.State} after {status.RoundsCompleted} rounds: {status.Error}");
            var history = await job.GetHistoryAsync();
            if (history.Any(r => r.Rejected.Count > 0)) throw new InvalidOperationException($"job {jobId} rejected updates: {string.Join("; ", history.SelectMany(r => r.Rejected).Select(x => x.Reason).Distinct())}");
            await client.StopAsync();
            var seconds = history.Select(r => r.Seconds).ToArray();
            return (Median(seconds.Skip(1)), seconds);
        }
        finally
        {
            // Silos first: a silo whose Redis is gone does not stop promptly.
            foreach (var p in Enumerable.Reverse(processes))
            {
                try { p.Dispose(); }
                catch (InvalidOperationException) { }
            }
        }
    }

    private static async Task WaitReadyAsync(List<int> healthPorts, List<ProcessRunner> processes)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddMinutes(3);
        foreach (var port in healthPorts)
        {
            while (true)
            {
                try
                {
                    if ((await http.GetAsync($"http://127.0.0.1:{port}/readyz")).IsSuccessStatusCode) break;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
                if (DateTime.UtcNow > deadline || processes.Any(p => p.HasExited))
                    throw new InvalidOperationException("a silo did not become ready:\n" + string.Join("\n---\n", processes.Select(p => p.Output[^Math.Min(p.Output.Length, 3000)..])));
                await Task.Delay(500);
            }
        }
    }

    private static async Task<IHost> ConnectAsync(string redis, TlsSettings? tls)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddFedGrainsClient($"redis://{redis}", $"operator:{ClientKey}", tls: tls);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
