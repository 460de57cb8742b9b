using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FedGrains.Cluster.Tests.Security;

/// <summary>
/// One silo with mutual TLS on (FedGrains:Tls, as src/Silo configures it) on real loopback sockets, and every kind of
/// peer against it: a provisioned client, no TLS, no certificate, another CA, a silo certificate on the client port,
/// a client certificate on the silo port, and plain bytes.
/// </summary>
public sealed class TlsTests : IAsyncLifetime
{
    private readonly TlsFolders folders = new();
    private readonly CapturedLogs logs = new();
    private readonly int siloPort = HostBuilderExtensions.FreeTcpPort();
    private readonly int clientPort = HostBuilderExtensions.FreeTcpPort();
    private IHost silo = null!;

    public async Task InitializeAsync() =>
        silo = await TlsHosts.StartSiloAsync(siloPort, clientPort, folders.Settings(folders.Ours_("silo-op.pfx")), logs, TestCluster.NewDatabasePath());

    public async Task DisposeAsync()
    {
        await silo.StopAsync();
        silo.Dispose();
        folders.Dispose();
    }

    [Fact]
    public async Task A_client_with_a_provisioned_certificate_runs_a_job_to_completion()
    {
        var settings = folders.Settings(folders.Ours_("client-alice.pfx"));
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.AddFedGrainsClient($"127.0.0.1:{clientPort}", tls: settings);
        using var client = builder.Build();
        await client.StartAsync();

        var job = client.Services.GetRequiredService<IClusterClient>().GetGrain<IFederationGrain>("tls-job");
        await job.StartAsync(TestCluster.SyntheticJob(rounds: 2, gateways: 2));
        var status = await TestCluster.WaitFinishedAsync(job);

        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(2, status.RoundsCompleted);
        Assert.Contains("Mutual TLS on: this silo is fedgrains:silo:op", logs.Text);
        await client.StopAsync();
    }

    [Fact]
    public async Task A_client_without_tls_cannot_connect()
    {
        var (host, failure) = await TlsHosts.ConnectAsync(clientPort, tls: null, TimeSpan.FromSeconds(15));

        host?.Dispose();
        Assert.Null(host);
        Assert.NotNull(failure);
    }

    [Fact]
    public async Task A_client_with_a_certificate_from_another_ca_is_refused_and_the_silo_says_why()
    {
        var mallory = TlsCredentials.Load(folders.Settings(folders.Theirs_("client-mallory.pfx"), folders.OtherCa), forSilo: false, TimeProvider.System);

        var (host, failure) = await TlsHosts.ConnectAsync(clientPort, c => c.UseFedGrainsTls(mallory), TimeSpan.FromSeconds(15));

        host?.Dispose();
        Assert.Null(host);
        Assert.NotNull(failure);
        // What the silo says, over a raw TLS connection that accepts any server: the Orleans client above trusts only
        // its own CA, so under TLS 1.3 it may abort at the silo's certificate before sending its own.
        Assert.False(await TlsHosts.TlsConnectionStaysOpenAsync(clientPort, X509CertificateLoader.LoadPkcs12FromFile(folders.Theirs_("client-mallory.pfx"), null)));
        var said = await logs.WaitForAsync("is not issued by the deployment's CA", TimeSpan.FromSeconds(30));
        Assert.Contains("TLS handshake refused on the client port", said);
        Assert.Contains("identity fedgrains:client:mallory", said);
        Assert.Contains("is not issued by the deployment's CA", said);
    }

    [Fact]
    public async Task A_client_trusting_only_another_ca_refuses_the_silo()
    {
        // Mallory's client trusts her CA only, so our silo's certificate is what fails here (on her side).
        var alice = X509CertificateLoader.LoadPkcs12FromFile(folders.Ours_("client-alice.pfx"), null);
        var trustingTheirs = new PeerCertificateValidator(X509CertificateLoader.LoadCertificateFromFile(folders.OtherCa), TimeProvider.System);
        var siloCertificate = X509CertificateLoader.LoadPkcs12FromFile(folders.Ours_("silo-op.pfx"), null);

        Assert.Contains("is not issued by the deployment's CA", trustingTheirs.Check(siloCertificate, PeerRole.SiloServing));
        Assert.True(await TlsHosts.TlsConnectionStaysOpenAsync(clientPort, alice), "control: alice's certificate is accepted");
    }

    [Fact]
    public async Task Raw_tls_peers_are_accepted_only_with_a_certificate_of_the_right_role_from_the_ca()
    {
        var alice = X509CertificateLoader.LoadPkcs12FromFile(folders.Ours_("client-alice.pfx"), null);
        var site = X509CertificateLoader.LoadPkcs12FromFile(folders.Ours_("site-hospital-a.pfx"), null);
        var intruder = X509CertificateLoader.LoadPkcs12FromFile(folders.Theirs_("silo-intruder.pfx"), null);

        Assert.True(await TlsHosts.TlsConnectionStaysOpenAsync(clientPort, alice));
        Assert.True(await TlsHosts.TlsConnectionStaysOpenAsync(siloPort, site));
        Assert.False(await TlsHosts.TlsConnectionStaysOpenAsync(clientPort, null));
        Assert.False(await TlsHosts.TlsConnectionStaysOpenAsync(siloPort, null));
        Assert.False(await TlsHosts.TlsConnectionStaysOpenAsync(clientPort, site));
        Assert.Contains("fedgrains:site:hospital-a, a silo certificate, where a client's is required on the client port", await logs.WaitForAsync("where a client's is required on the client port", TimeSpan.FromSeconds(30)));
        Assert.False(await TlsHosts.TlsConnectionStaysOpenAsync(siloPort, alice));
        var said = await logs.WaitForAsync("fedgrains:client:alice, a client certificate, where a silo's is required", TimeSpan.FromSeconds(30));
        Assert.Contains("TLS handshake refused on the silo port", said);
        Assert.Contains("fedgrains:client:alice, a client certificate, where a silo's is required", said);
        Assert.False(await TlsHosts.TlsConnectionStaysOpenAsync(siloPort, intruder));
        Assert.Contains("identity fedgrains:silo:intruder", await logs.WaitForAsync("identity fedgrains:silo:intruder", TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Plain_bytes_get_no_orleans_handshake(bool clientEndpoint)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, clientEndpoint ? clientPort : siloPort);
        var stream = tcp.GetStream();
        // What a plaintext Orleans peer starts with: a length-prefixed preamble.
        await stream.WriteAsync(new byte[] { 0x10, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 });

        var buffer = new byte[64];
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        int read;
        try
        {
            read = await stream.ReadAsync(buffer, wait.Token);
        }
        catch (IOException)
        {
            read = 0; // reset by the silo
        }

        Assert.Equal(0, read);
        // Refused by TLS, not by Orleans' own preamble check (a plaintext silo closes on these bytes too).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!logs.Text.Contains("TlsServerConnectionMiddleware: Authentication failed") && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Contains("TlsServerConnectionMiddleware: Authentication failed", logs.Text);
    }
}
