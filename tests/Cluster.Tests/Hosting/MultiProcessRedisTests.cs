using System.Net;
using System.Text.Json;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Codecs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FedGrains.Cluster.Tests.Hosting;

/// <summary>
/// The cluster as it runs in production, on one machine: a real redis-server for membership, grain state, reminders
/// and the job index; two silo processes (one hosting gateways); the CLI as a separate client process.
/// </summary>
public sealed class MultiProcessRedisTests : IAsyncLifetime
{
    private readonly List<ProcessRunner> processes = [];
    private readonly string dir = Directory.CreateTempSubdirectory("fedgrains-mp-").FullName;
    private static readonly string ClientKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    private static readonly string ClusterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    private static readonly string Credential = $"operator:{ClientKey}";
    private int redisPort;
    private IHost? client;

    public Task InitializeAsync()
    {
        redisPort = HostBuilderExtensions.FreeTcpPort();
        processes.Add(ProcessRunner.StartRedis(redisPort));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (client is not null) { await client.StopAsync(); client.Dispose(); }
        foreach (var p in processes)
        {
            // Every process must go, even if one of them fails to stop: a stray silo would outlive the test run.
            try { p.Dispose(); }
            catch (InvalidOperationException) { }
        }
        Directory.Delete(dir, true);
    }

    /// <summary>A federation silo (0) and a gateway silo (1) on Redis with authentication on; <c>Start(k)</c> starts (or restarts) silo k.</summary>
    private sealed record TwoSilos(ProcessRunner[] Silos, int[] SiloPorts, Func<int, ProcessRunner> Start);

    private async Task<TwoSilos> StartTwoSilosAsync()
    {
        var siloPorts = new[] { HostBuilderExtensions.FreeTcpPort(), HostBuilderExtensions.FreeTcpPort() };
        var gatewayPorts = new[] { HostBuilderExtensions.FreeTcpPort(), HostBuilderExtensions.FreeTcpPort() };
        var healthPorts = new[] { HostBuilderExtensions.FreeTcpPort(), HostBuilderExtensions.FreeTcpPort() };
        ProcessRunner StartSilo(int k) => Track(ProcessRunner.StartDotnet("FedGrains.Silo.dll",
        [
            "--FedGrains:Cluster:Provider=redis", $"--FedGrains:Cluster:Redis=127.0.0.1:{redisPort}",
            "--FedGrains:Storage:Provider=redis", "--FedGrains:Cluster:AdvertisedIPAddress=127.0.0.1",
            $"--FedGrains:Cluster:SiloPort={siloPorts[k]}", $"--FedGrains:Cluster:ClientPort={gatewayPorts[k]}",
            $"--FedGrains:Silo:HostsGateways={(k == 1 ? "true" : "false")}", "--FedGrains:Silo:TorchThreads=1",
            "--FedGrains:Telemetry:Exporter=none", "--Logging:LogLevel:Default=Warning",
            $"--FedGrains:Health:Port={healthPorts[k]}", $"--FedGrains:Silo:Role={(k == 1 ? "gateway" : "federation")}",
            "--FedGrains:Auth:Enabled=true", $"--FedGrains:Auth:ClientKeys:operator={ClientKey}", "--FedGrains:Auth:ClientRoles:operator=operator", $"--FedGrains:Auth:ClusterKey={ClusterKey}", $"--FedGrains:Dashboard:Enabled={k == 0}",
            .. Enumerable.Range(0, 3).Select(g => $"--FedGrains:Auth:GatewayKeys:gw-{g:D2}={SiteKey(g)}"),
        ]));
        var silos = new[] { StartSilo(0), StartSilo(1) };
        foreach (var port in healthPorts)
        {
            Assert.Equal(HttpStatusCode.OK, await WaitForHttpAsync($"http://127.0.0.1:{port}/readyz"));
            Assert.Equal(HttpStatusCode.OK, await WaitForHttpAsync($"http://127.0.0.1:{port}/healthz"));
        }
        Assert.Equal(HttpStatusCode.OK, await WaitForHttpAsync($"http://127.0.0.1:{healthPorts[0]}/dashboard/"));
        return new TwoSilos(silos, siloPorts, StartSilo);
    }

    /// <summary>Kills the silo that hosts the job's federation and starts it again.</summary>
    private static async Task KillFederationSiloAsync(TwoSilos cluster, JobStatus running)
    {
        int victim = running.Silo!.Contains($":{cluster.SiloPorts[0]}:") ? 0 : 1;
        cluster.Silos[victim].Kill();
        await cluster.Silos[victim].WaitAsync(TimeSpan.FromSeconds(30));
        cluster.Silos[victim] = cluster.Start(victim);
    }

    [Fact]
    public async Task A_job_survives_killing_the_silo_that_hosts_its_federation()
    {
        var two = await StartTwoSilosAsync();
        var silos = two.Silos;
        var cluster = $"redis://127.0.0.1:{redisPort}";
        var spec = Path.Combine(dir, "job.json");
        await File.WriteAllTextAsync(spec, """
            { "seed": 3, "rounds": 40, "gateway_count": 3, "model": { "hidden": [16] },
              "dataset": { "kind": "synthetic" }, "defaults": { "batch_size": 40, "learning_rate": 0.5 },
              "privacy": { "target_epsilon": 3, "delta": 1e-5 } }
            """);

        var anonymous = await ProcessRunner.RunCliAsync("submit", "--spec", spec, "--job-id", "mp", "--cluster", cluster);
        Assert.Equal(5, anonymous.ExitCode);
        Assert.Contains("no credential", anonymous.Output);
        var submit = await ProcessRunner.RunCliAsync("submit", "--spec", spec, "--job-id", "mp", "--cluster", cluster, "--credential", Credential);
        Assert.True(submit.ExitCode == 0, submit.Output + Logs(silos));
        Assert.Equal("mp", submit.Output.TrimEnd().Split('\n')[^1].Trim());

        // `watch` follows the job from events through the kill and restart below (it re-subscribes when its silo goes).
        var watch = Track(ProcessRunner.StartDotnet("fedgrains.dll", ["watch", "mp", "--cluster", cluster, "--credential", Credential]));
        // The kill must come after `watch` has connected and subscribed: this test is about following a job through it.
        Assert.True(await watch.WaitForOutputAsync("job mp: ", TimeSpan.FromMinutes(1)), watch.Output);
        var job = (await ClientAsync()).GetGrain<IFederationGrain>("mp");
        var before = await TestCluster.WaitAsync(job, s => s.RoundsCompleted >= 3, TimeSpan.FromMinutes(2));
        Assert.Equal(JobState.Running, before.State);
        await KillFederationSiloAsync(two, before);

        var after = await TestCluster.WaitAsync(job, s => s.State != JobState.Running && s.State != JobState.NotStarted, TimeSpan.FromMinutes(4), tolerateSiloLoss: true);
        Assert.True(after.State == JobState.Completed, $"{after.State}: {after.Error}" + Logs(silos));
        var history = await job.GetHistoryAsync();
        Assert.Equal(Enumerable.Range(1, 40), history.Select(r => r.Round));
        Assert.Equal(40, (await job.GetModelAsync()).Version);
        var ledgers = await job.GetGatewayPrivacyAsync();
        Assert.Equal(3, ledgers.Count);
        LedgerAssert.Consistent(history, ledgers, rounds: 40, targetEpsilon: 3.0);

        Assert.True(await watch.WaitAsync(TimeSpan.FromMinutes(1)) == 0, watch.Output);
        Assert.Matches(@"round \d+/40: 3 updates", watch.Output);
        Assert.Contains("job mp: Completed after 40 rounds", watch.Output);

        var status = await ProcessRunner.RunCliAsync("status", "mp", "--cluster", cluster, "--credential", Credential);
        Assert.Contains("Completed", status.Output);
        var exportDir = Path.Combine(dir, "export");
        var export = await ProcessRunner.RunCliAsync("export", "mp", "--output", exportDir, "--cluster", cluster, "--credential", Credential);
        Assert.True(export.ExitCode == 0, export.Output);
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(exportDir, "report.json")));
        Assert.Equal(40, report.RootElement.GetProperty("rounds_completed").GetInt32());
        Assert.Equal(3, report.RootElement.GetProperty("gateways").GetArrayLength());
        Assert.Equal(41, (await File.ReadAllLinesAsync(Path.Combine(exportDir, "history.csv"))).Length);
        var tensors = Safetensors.Read(await File.ReadAllBytesAsync(Path.Combine(exportDir, "model.safetensors")));
        Assert.Equal(["fc1.weight", "fc1.bias", "out.weight", "out.bias"], tensors.Select(t => t.Name));
        Assert.Equal([16L, 20L], tensors[0].Shape);
        foreach (var png in new[] { "accuracy.png", "epsilon.png" })
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, (await File.ReadAllBytesAsync(Path.Combine(exportDir, png)))[..4]);

        // Every version is kept (in Redis here) and can be exported, including one from before the silo was killed.
        var old = await ProcessRunner.RunCliAsync("export", "mp", "--model-version", "2", "--output", Path.Combine(dir, "v2"), "--cluster", cluster, "--credential", Credential);
        Assert.True(old.ExitCode == 0, old.Output);
        Assert.Contains("model version 2", old.Output);
        Assert.NotEqual(await File.ReadAllBytesAsync(Path.Combine(exportDir, "model.fgw")), await File.ReadAllBytesAsync(Path.Combine(dir, "v2", "model.fgw")));
        var missing = await ProcessRunner.RunCliAsync("export", "mp", "--model-version", "99", "--output", Path.Combine(dir, "v99"), "--cluster", cluster, "--credential", Credential);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no model version 99", missing.Output);
    }

    [Fact]
    public async Task A_secure_job_survives_killing_its_federation_silo_mid_protocol()
    {
        var two = await StartTwoSilosAsync();
        var spec = Path.Combine(dir, "secure.json");
        await File.WriteAllTextAsync(spec, """
            { "seed": 5, "rounds": 20, "gateway_count": 3, "min_updates_per_round": 2, "model": { "hidden": [16] },
              "dataset": { "kind": "synthetic" }, "defaults": { "batch_size": 40, "learning_rate": 0.5 },
              "privacy": { "target_epsilon": 3, "delta": 1e-5 },
              "aggregation": { "secure": { "enabled": true, "clipping_norm": 10, "noise_multiplier": 0.3 } } }
            """);
        var submit = await ProcessRunner.RunCliAsync("submit", "--spec", spec, "--job-id", "mp-secure", "--cluster", $"redis://127.0.0.1:{redisPort}", "--credential", Credential);
        Assert.True(submit.ExitCode == 0, submit.Output + Logs(two.Silos));
        var job = (await ClientAsync()).GetGrain<IFederationGrain>("mp-secure");

        // A secure round is nearly all protocol (training takes milliseconds here), so the kill most likely lands inside one.
        var before = await TestCluster.WaitAsync(job, s => s.RoundsCompleted >= 3, TimeSpan.FromMinutes(2));
        await KillFederationSiloAsync(two, before);

        var after = await TestCluster.WaitAsync(job, s => s.State != JobState.Running && s.State != JobState.NotStarted, TimeSpan.FromMinutes(4), tolerateSiloLoss: true);
        Assert.True(after.State == JobState.Completed, $"{after.State}: {after.Error}" + Logs(two.Silos));
        var history = await job.GetHistoryAsync();
        Assert.Equal(Enumerable.Range(1, 20), history.Select(r => r.Round));
        Assert.All(history, r => Assert.Equal(3, r.Participants.Count));
        var ledgers = await job.GetGatewayPrivacyAsync();
        // No round was trained (or spent) twice: the restarted round masked the deltas the gateways held.
        LedgerAssert.Consistent(history, ledgers, rounds: 20, targetEpsilon: 3.0);
        Assert.All(ledgers, l => Assert.True(l.SecureSumEpsilon > 0));
    }

    [Fact]
    public async Task The_cli_cancels_a_job_through_a_silo_gateway_endpoint()
    {
        var siloPort = HostBuilderExtensions.FreeTcpPort();
        var gatewayPort = HostBuilderExtensions.FreeTcpPort();
        var silo = Track(ProcessRunner.StartDotnet("FedGrains.Silo.dll",
        [
            "--FedGrains:Cluster:Provider=redis", $"--FedGrains:Cluster:Redis=127.0.0.1:{redisPort}", "--FedGrains:Storage:Provider=redis",
            "--FedGrains:Cluster:AdvertisedIPAddress=127.0.0.1", $"--FedGrains:Cluster:SiloPort={siloPort}", $"--FedGrains:Cluster:ClientPort={gatewayPort}",
            $"--FedGrains:Health:Port={HostBuilderExtensions.FreeTcpPort()}", "--FedGrains:Telemetry:Exporter=none", "--Logging:LogLevel:Default=Warning",
            "--FedGrains:Auth:Enabled=true", $"--FedGrains:Auth:ClientKeys:operator={ClientKey}", "--FedGrains:Auth:ClientRoles:operator=operator", $"--FedGrains:Auth:ClusterKey={ClusterKey}",
            .. Enumerable.Range(0, 10).Select(g => $"--FedGrains:Auth:GatewayKeys:gw-{g:D2}={SiteKey(g)}"),
        ]));
        var endpoint = $"127.0.0.1:{gatewayPort}";
        var submit = await ProcessRunner.RetryUntilUpAsync(() => ProcessRunner.RunCliAsync("submit", "--dataset", "synthetic", "--rounds", "500", "--job-id", "long",
            "--hidden", "8", "--batch-size", "50", "--cluster", endpoint, "--credential", Credential));
        Assert.True(submit.ExitCode == 0, submit.Output + silo.Output);

        var cancel = await ProcessRunner.RunCliAsync("cancel", "long", "--cluster", endpoint, "--credential", Credential);

        Assert.True(cancel.ExitCode == 0, cancel.Output);
        Assert.Contains("long: Cancelled after", cancel.Output);
        var status = await ProcessRunner.RunCliAsync("status", "long", "--cluster", endpoint, "--credential", Credential);
        Assert.Contains("Cancelled", status.Output);
    }

    [Fact]
    public async Task The_cli_says_clearly_when_the_cluster_is_unreachable()
    {
        var result = await ProcessRunner.RunCliAsync("status", "--cluster", $"127.0.0.1:{HostBuilderExtensions.FreeTcpPort()}");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("cannot reach the FedGrains cluster", result.Output);
    }

    private static Task<HttpStatusCode> WaitForHttpAsync(string url) => ProcessRunner.WaitForHttpAsync(url, TimeSpan.FromSeconds(60));

    // Each site's key, fixed per test run (both silos must hold the same ones, as from one Kubernetes secret).
    private static string SiteKey(int gateway) => Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(
        System.Text.Encoding.UTF8.GetBytes($"{ClientKey}/site/{gateway}")));

    private ProcessRunner Track(ProcessRunner p)
    {
        processes.Add(p);
        return p;
    }

    private async Task<IClusterClient> ClientAsync()
    {
        if (client is null)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.AddFedGrainsClient($"redis://127.0.0.1:{redisPort}", Credential);
            client = builder.Build();
            await client.StartAsync();
        }
        return client.Services.GetRequiredService<IClusterClient>();
    }

    private static string Logs(IEnumerable<ProcessRunner> silos) =>
        "\n--- silo logs ---\n" + string.Join("\n---\n", silos.Select(s => s.Output[^Math.Min(3000, s.Output.Length)..]));
}
