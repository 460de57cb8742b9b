using System.Diagnostics;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FedGrains.Bench;

[Alias("FedGrains.Bench.IEchoGrain")]
public interface IEchoGrain : IGrainWithIntegerKey
{
    /// <summary>Receives a delta-sized payload and answers with its length, as a gateway's update call does.</summary>
    [Alias("Echo")]
    Task<int> EchoAsync(byte[] payload);
}

public sealed class EchoGrain : Grain, IEchoGrain
{
    public Task<int> EchoAsync(byte[] payload) => Task.FromResult(payload.Length);
}

/// <summary>
/// Client-to-silo round trips of a delta-sized payload (the default MLP's 203,530 float parameters as bytes), over
/// plaintext and over mutual TLS, two in-process silos on loopback, measured interleaved (the machine is shared).
/// </summary>
internal static class TlsRoundTrips
{
    public const int PayloadBytes = 203_530 * 4;

    public static async Task<IEnumerable<string>> RunAsync(int samples = 15, int callsPerSample = 40)
    {
        var pki = Directory.CreateTempSubdirectory("fedgrains-bench-tls-").FullName;
        Provisioning.Run(new ProvisionRequest(pki, ["bench"], [], ["bench"], []), TimeProvider.System);
        var ca = Path.Combine(pki, Provisioning.AuthorityFile);
        var siloTls = new TlsSettings { Enabled = true, Certificate = Path.Combine(pki, "silo-bench.pfx"), CertificateAuthority = ca };
        var clientTls = new TlsSettings { Enabled = true, Certificate = Path.Combine(pki, "client-bench.pfx"), CertificateAuthority = ca };
        using var plainSilo = await SiloAsync("bench-plain", null, pki);
        using var tlsSilo = await SiloAsync("bench-tls", siloTls, pki);
        using var plainClient = await ClientAsync(plainSilo.ClientPort, "bench-plain", null);
        using var tlsClient = await ClientAsync(tlsSilo.ClientPort, "bench-tls", clientTls);
        var payload = new byte[PayloadBytes];
        Random.Shared.NextBytes(payload);
        var small = new byte[100];

        var results = new Dictionary<string, List<double>> { ["plain delta"] = [], ["tls delta"] = [], ["plain 100 B"] = [], ["tls 100 B"] = [] };
        var ratios = new List<double>();
        var smallRatios = new List<double>();
        for (var s = -2; s < samples; s++) // two warm-up samples
        {
            var plain = await TimeAsync(plainClient.Echo, payload, callsPerSample);
            var tls = await TimeAsync(tlsClient.Echo, payload, callsPerSample);
            var plainSmall = await TimeAsync(plainClient.Echo, small, callsPerSample * 10);
            var tlsSmall = await TimeAsync(tlsClient.Echo, small, callsPerSample * 10);
            if (s < 0) continue;
            results["plain delta"].Add(plain);
            results["tls delta"].Add(tls);
            results["plain 100 B"].Add(plainSmall);
            results["tls 100 B"].Add(tlsSmall);
            ratios.Add(tls / plain);
            smallRatios.Add(tlsSmall / plainSmall);
        }
        await plainClient.Host.StopAsync();
        await tlsClient.Host.StopAsync();
        await plainSilo.Host.StopAsync();
        await tlsSilo.Host.StopAsync();
        Directory.Delete(pki, true);
        return
        [
            $"client -> silo round trips on loopback, {samples} interleaved samples (median ms per call):",
            $"  {PayloadBytes:N0} B delta: plaintext {Median(results["plain delta"]):F3} ms ({PayloadBytes / Median(results["plain delta"]) / 1e6:F2} GB/s), " +
            $"mTLS {Median(results["tls delta"]):F3} ms ({PayloadBytes / Median(results["tls delta"]) / 1e6:F2} GB/s); median paired ratio TLS/plain = {Median(ratios):F2}x",
            $"  100 B call:       plaintext {Median(results["plain 100 B"]):F3} ms, mTLS {Median(results["tls 100 B"]):F3} ms; median paired ratio TLS/plain = {Median(smallRatios):F2}x",
        ];
    }

    private static async Task<double> TimeAsync(IEchoGrain grain, byte[] payload, int calls)
    {
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < calls; i++) await grain.EchoAsync(payload);
        return watch.Elapsed.TotalMilliseconds / calls;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private sealed record Silo(IHost Host, int ClientPort) : IDisposable
    {
        public void Dispose() => Host.Dispose();
    }

    private sealed record Client(IHost Host, IEchoGrain Echo) : IDisposable
    {
        public void Dispose() => Host.Dispose();
    }

    private static async Task<Silo> SiloAsync(string clusterId, TlsSettings? tls, string dir)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        var clientPort = HostBuilderExtensions.FreeTcpPort();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["FedGrains:Cluster:ClusterId"] = clusterId,
            ["FedGrains:Cluster:SiloPort"] = HostBuilderExtensions.FreeTcpPort().ToString(),
            ["FedGrains:Cluster:ClientPort"] = clientPort.ToString(),
            ["FedGrains:Storage:DatabasePath"] = Path.Combine(dir, clusterId + ".db"),
            ["FedGrains:Silo:Device"] = "cpu",
            ["FedGrains:Telemetry:Exporter"] = "none",
            ["FedGrains:Tls:Enabled"] = (tls is not null).ToString(),
            ["FedGrains:Tls:Certificate"] = tls?.Certificate,
            ["FedGrains:Tls:CertificateAuthority"] = tls?.CertificateAuthority,
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddFedGrainsSilo();
        var host = builder.Build();
        await host.StartAsync();
        return new Silo(host, clientPort);
    }

    private static async Task<Client> ClientAsync(int port, string clusterId, TlsSettings? tls)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddFedGrainsClient($"127.0.0.1:{port}", clusterId: clusterId, tls: tls);
        var host = builder.Build();
        await host.StartAsync();
        return new Client(host, host.Services.GetRequiredService<IClusterClient>().GetGrain<IEchoGrain>(0));
    }
}
