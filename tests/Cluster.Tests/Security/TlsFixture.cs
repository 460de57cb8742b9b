using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FedGrains.Cluster.Tests.Security;

/// <summary>
/// Certificates from `fedgrains provision` logic: the deployment's CA (silo op, site hospital-a, client alice) and a
/// stranger CA (silo intruder, client mallory). Shared by the TLS tests.
/// </summary>
internal sealed class TlsFolders : IDisposable
{
    public string Ours { get; } = Directory.CreateTempSubdirectory("fedgrains-tls-").FullName;
    public string Theirs { get; } = Directory.CreateTempSubdirectory("fedgrains-tls-other-").FullName;

    public TlsFolders()
    {
        Provisioning.Run(new ProvisionRequest(Ours, ["op"], ["hospital-a"], ["alice"], []), TimeProvider.System);
        Provisioning.Run(new ProvisionRequest(Theirs, ["intruder"], [], ["mallory"], []), TimeProvider.System);
    }

    public string Ca => Path.Combine(Ours, Provisioning.AuthorityFile);
    public string OtherCa => Path.Combine(Theirs, Provisioning.AuthorityFile);
    public string Ours_(string file) => Path.Combine(Ours, file);
    public string Theirs_(string file) => Path.Combine(Theirs, file);

    public TlsSettings Settings(string certificate, string? ca = null) =>
        new() { Enabled = true, Certificate = certificate, CertificateAuthority = ca ?? Ca };

    public void Dispose()
    {
        Directory.Delete(Ours, true);
        Directory.Delete(Theirs, true);
    }
}

/// <summary>Keeps every log line of a host, so tests can assert what a silo said about a refused peer.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private readonly List<string> lines = [];

    public string Text
    {
        get { lock (lines) return string.Join('\n', lines); }
    }

    /// <summary>
    /// The lines so far, once they hold <paramref name="phrase"/> or <paramref name="timeout"/> passed: a silo logs a
    /// refused handshake on its own thread, possibly after the refused peer gave up (a loaded machine).
    /// </summary>
    public async Task<string> WaitForAsync(string phrase, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Text.Contains(phrase, StringComparison.Ordinal) && DateTime.UtcNow < deadline) await Task.Delay(100);
        return Text;
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
    public void Dispose() { }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner.lines) owner.lines.Add($"{logLevel} {category}: {formatter(state, exception)} {exception?.Message}");
        }
    }
}

/// <summary>Real sockets, real TLS: a FedGrains silo host (AddFedGrainsSilo, as src/Silo runs it) and clients of it.</summary>
internal static class TlsHosts
{
    public static async Task<IHost> StartSiloAsync(int siloPort, int clientPort, TlsSettings? tls, CapturedLogs logs, string database)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        var settings = new Dictionary<string, string?>
        {
            ["FedGrains:Cluster:SiloPort"] = siloPort.ToString(),
            ["FedGrains:Cluster:ClientPort"] = clientPort.ToString(),
            ["FedGrains:Storage:DatabasePath"] = database,
            ["FedGrains:Silo:Device"] = "cpu",
            ["FedGrains:Silo:TorchThreads"] = "1",
            ["FedGrains:Silo:SeededNoiseForTests"] = "true",
            ["FedGrains:Silo:RoundTickMilliseconds"] = "20",
            ["FedGrains:Telemetry:Exporter"] = "none",
        };
        if (tls is not null)
        {
            settings["FedGrains:Tls:Enabled"] = tls.Enabled.ToString();
            settings["FedGrains:Tls:Certificate"] = tls.Certificate;
            settings["FedGrains:Tls:CertificateAuthority"] = tls.CertificateAuthority;
        }
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Information);
        builder.AddFedGrainsSilo();
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>A started client, or the exception its start failed with (within <paramref name="timeout"/>).</summary>
    public static async Task<(IHost? Host, Exception? Failure)> ConnectAsync(int clientPort, Action<IClientBuilder>? tls, TimeSpan timeout)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.UseStaticClustering(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, clientPort));
            client.Configure<Orleans.Configuration.ClusterOptions>(o => (o.ClusterId, o.ServiceId) = ("fedgrains", "fedgrains"));
            tls?.Invoke(client);
        });
        var host = builder.Build();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await host.StartAsync(cancel.Token);
            return (host, null);
        }
        catch (Exception e)
        {
            host.Dispose();
            return (null, e);
        }
    }

    /// <summary>
    /// Opens a raw TLS connection to <paramref name="port"/> with <paramref name="certificate"/> (or none) and tells
    /// whether the silo keeps it open: an accepted peer then waits for Orleans' preamble, a refused one is closed.
    /// </summary>
    public static async Task<bool> TlsConnectionStaysOpenAsync(int port, X509Certificate2? certificate)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ClientCertificates = certificate is null ? null : [certificate],
                ApplicationProtocols = [new SslApplicationProtocol("Orleans1")],
            });
            return await StaysOpenAsync(tls);
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            return false;
        }
    }

    /// <summary>True when nothing arrives and the peer does not close within 3 s.</summary>
    public static async Task<bool> StaysOpenAsync(Stream stream)
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            return await stream.ReadAsync(new byte[1], wait.Token) > 0;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            return false;
        }
    }
}
