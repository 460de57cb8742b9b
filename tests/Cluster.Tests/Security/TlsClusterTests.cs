using FedGrains.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FedGrains.Cluster.Tests.Security;

/// <summary>
/// The production shape with TLS on: redis-server for membership, silo processes started from src/Silo with
/// FedGrains:Tls, and the CLI as a process. A silo without TLS, or with a certificate from another CA, finds the
/// cluster through Redis but cannot join it; the CLI without a certificate cannot reach it and says what to give.
/// </summary>
public sealed class TlsClusterTests : IAsyncLifetime
{
    private static readonly string ClusterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    private readonly List<ProcessRunner> processes = [];
    private readonly TlsFolders folders = new();
    private int redisPort;

    public Task InitializeAsync()
    {
        redisPort = HostBuilderExtensions.FreeTcpPort();
        processes.Add(ProcessRunner.StartRedis(redisPort));
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        foreach (var p in processes)
        {
            try { p.Dispose(); }
            catch (InvalidOperationException) { }
        }
        folders.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Only_silos_and_clients_with_certificates_from_the_ca_get_in()
    {
        var clientPort = HostBuilderExtensions.FreeTcpPort();
        var silo = StartSilo(clientPort, "--FedGrains:Tls:Enabled=true", $"--FedGrains:Tls:Certificate={folders.Ours_("silo-op.pfx")}",
            $"--FedGrains:Tls:CertificateAuthority={folders.Ca}");
        string[] tls = ["--tls-certificate", folders.Ours_("client-alice.pfx"), "--tls-ca", folders.Ca];
        var cluster = $"redis://127.0.0.1:{redisPort}";
        var status = await ProcessRunner.RetryUntilUpAsync(() => ProcessRunner.RunCliAsync(["status", "--cluster", cluster, .. tls]));
        Assert.True(status.ExitCode == 0, status.Output + silo.Output);

        // Both intruders read the membership table in Redis, so they know where the silo is; neither can talk to it.
        var plaintext = StartSilo(HostBuilderExtensions.FreeTcpPort());
        var foreign = StartSilo(HostBuilderExtensions.FreeTcpPort(), "--FedGrains:Tls:Enabled=true",
            $"--FedGrains:Tls:Certificate={folders.Theirs_("silo-intruder.pfx")}", $"--FedGrains:Tls:CertificateAuthority={folders.OtherCa}");
        var anonymous = await ProcessRunner.RunCliAsync(["status", "--cluster", $"127.0.0.1:{clientPort}"]);

        Assert.Equal(3, anonymous.ExitCode);
        Assert.Contains("give --tls-certificate", anonymous.Output);
        Assert.DoesNotContain("   at ", anonymous.Output);
        foreach (var intruder in new[] { plaintext, foreign })
        {
            var code = await intruder.WaitAsync(TimeSpan.FromMinutes(3));
            Assert.True(code != 0, intruder.Output);
        }
        Assert.Contains("TLS handshake refused on the silo port", silo.Output);
        Assert.Contains("identity fedgrains:silo:intruder", silo.Output);
        Assert.Contains("is not issued by the deployment's CA", silo.Output);

        // The cluster still answers a provisioned client (clients may not ask Orleans' management grain which silos are in it).
        var again = await ProcessRunner.RunCliAsync(["status", "--cluster", cluster, .. tls]);
        Assert.True(again.ExitCode == 0, again.Output);
    }

    private ProcessRunner StartSilo(int clientPort, params string[] extra)
    {
        var silo = ProcessRunner.StartDotnet("FedGrains.Silo.dll",
        [
            "--FedGrains:Cluster:Provider=redis", $"--FedGrains:Cluster:Redis=127.0.0.1:{redisPort}", "--FedGrains:Storage:Provider=redis",
            "--FedGrains:Cluster:AdvertisedIPAddress=127.0.0.1", $"--FedGrains:Cluster:SiloPort={HostBuilderExtensions.FreeTcpPort()}",
            $"--FedGrains:Cluster:ClientPort={clientPort}", $"--FedGrains:Health:Port={HostBuilderExtensions.FreeTcpPort()}",
            "--FedGrains:Telemetry:Exporter=none", "--Logging:LogLevel:Default=Warning", "--FedGrains:Silo:TorchThreads=1",
            $"--FedGrains:Auth:ClusterKey={ClusterKey}", .. extra,
        ]);
        processes.Add(silo);
        return silo;
    }

}
