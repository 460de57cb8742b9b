using System.Net.Sockets;
using System.Net;
using FedGrains.Grains.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Configuration;

namespace FedGrains.Grains.Hosting;

/// <summary>Host wiring shared by the silo executable and `fedgrains run`'s in-process silo.</summary>
public static class HostBuilderExtensions
{
    /// <summary>
    /// Adds a FedGrains silo. Reads FedGrains:Silo (<see cref="FedGrainsSiloOptions"/>), FedGrains:Cluster
    /// (<see cref="ClusterSettings"/>: localhost, redis or kubernetes membership), FedGrains:Storage
    /// (<see cref="StorageSettings"/>: sqlite or redis) and FedGrains:Telemetry:Exporter. The defaults are the
    /// embedded single-machine setup: localhost clustering and SQLite.
    /// </summary>
    public static IHostApplicationBuilder AddFedGrainsSilo(this IHostApplicationBuilder builder, Action<ISiloBuilder>? configure = null)
    {
        var config = builder.Configuration;
        var silo = config.GetSection(FedGrainsSiloOptions.Section).Get<FedGrainsSiloOptions>() ?? new FedGrainsSiloOptions();
        var cluster = config.GetSection(ClusterSettings.Section).Get<ClusterSettings>() ?? new ClusterSettings();
        var storage = config.GetSection(StorageSettings.Section).Get<StorageSettings>() ?? new StorageSettings();
        var auth = config.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
        var sites = config.GetSection(SitePrivacyOptions.Section).Get<SitePrivacyOptions>() ?? new SitePrivacyOptions();
        var problems = cluster.Problems().Concat(storage.Problems(cluster)).ToList();
        if (cluster.Provider != "localhost" && auth.ClusterKeyBytes() is null)
            problems.Add($"{AuthOptions.Section}:ClusterKey must be set (the same base64 secret of at least 16 random bytes on every silo, given to no client, e.g. `openssl rand -base64 32`) when {ClusterSettings.Section}:Provider={cluster.Provider}: silos sign their calls to each other with it, so a client cannot pose as a grain.");
        if (problems.Count > 0) throw new OptionsValidationException(ClusterSettings.Section, typeof(ClusterSettings), problems);
        var tls = config.GetSection(TlsSettings.Section).Get<TlsSettings>() ?? new TlsSettings();
        var credentials = tls.Enabled ? TlsCredentials.Load(tls, forSilo: true, TimeProvider.System) : null;
        // A site silo's site is the one its certificate names, not a string anyone can set.
        if (credentials is not null && CertificateIdentity.SiteOf(credentials.Certificate) is { } certifiedSite)
        {
            if (silo.Site is { Length: > 0 } configured && configured != certifiedSite)
                throw new OptionsValidationException(FedGrainsSiloOptions.Section, typeof(FedGrainsSiloOptions),
                    [$"{FedGrainsSiloOptions.Section}:Site={configured}, but this silo's certificate is site '{certifiedSite}'s: leave the setting out (the certificate decides) or use that site's certificate."]);
            silo.Site = certifiedSite;
        }

        // Redis' certificate (ssl=true in its connection string) is the deployment CA's too, when TLS is on.
        var redisAuthority = tls.Enabled ? tls.CertificateAuthority : null;
        builder.UseOrleans(orleans =>
        {
            orleans.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (cluster.ClusterId, cluster.ServiceId));
            switch (cluster.Provider)
            {
                case "localhost":
                    orleans.UseLocalhostClustering(cluster.SiloPort, cluster.ClientPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
                    break;
                case "redis":
                    orleans.UseRedisClustering(o => o.ConfigurationOptions = RedisConnections.Options(cluster.Redis!, redisAuthority));
                    orleans.ConfigureEndpoints(AdvertisedAddress(cluster), cluster.SiloPort, cluster.ClientPort, listenOnAnyHostAddress: true);
                    break;
                case "kubernetes":
                    // Pod IP, cluster and service ids from the pod (downward API); membership still lives in Redis.
                    orleans.UseKubernetesHosting();
                    orleans.UseRedisClustering(o => o.ConfigurationOptions = RedisConnections.Options(cluster.Redis!, redisAuthority));
                    break;
            }
            if (storage.Provider == "redis") orleans.AddFedGrainsRedisStorage(storage.Redis ?? cluster.Redis!, cluster.ServiceId, redisAuthority);
            else orleans.AddFedGrainsSqliteStorage(storage.DatabasePath);
            silo.UseReminders = storage.Provider == "redis";
            orleans.AddFedGrains(silo, auth, sites);
            if (credentials is not null) orleans.UseFedGrainsTls(credentials);
            orleans.AddFedGrainsSite(config.GetSection(SiteOptions.Section).Get<SiteOptions>() ?? new SiteOptions());
            configure?.Invoke(orleans);
        });
        builder.AddFedGrainsTelemetry(config["FedGrains:Telemetry:Exporter"]);
        return builder;
    }

    /// <summary>
    /// Adds an Orleans client for a running FedGrains cluster: <paramref name="cluster"/> is "redis://host:port"
    /// (Redis membership) or "host:port" (a silo's client endpoint). With <paramref name="tls"/> enabled, the client
    /// connects over mutual TLS (see <see cref="TlsHostingExtensions.UseFedGrainsTls(IClientBuilder, TlsCredentials)"/>).
    /// </summary>
    public static IHostApplicationBuilder AddFedGrainsClient(this IHostApplicationBuilder builder, string cluster, string? credential = null,
        string clusterId = "fedgrains", string serviceId = "fedgrains", TlsSettings? tls = null)
    {
        var credentials = tls is { Enabled: true } ? TlsCredentials.Load(tls, forSilo: false, TimeProvider.System) : null;
        var signer = credential is null ? null : Signatures.ParseCredential(credential);
        builder.UseOrleansClient(client =>
        {
            if (signer is not null) client.AddOutgoingGrainCallFilter(new ClientSigningFilter(signer, TimeProvider.System));
            client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, serviceId));
            if (credentials is not null) client.UseFedGrainsTls(credentials);
            if (cluster.StartsWith("redis://", StringComparison.OrdinalIgnoreCase))
                client.UseRedisClustering(o => o.ConfigurationOptions = RedisConnections.Options(cluster["redis://".Length..], tls is { Enabled: true } ? tls.CertificateAuthority : null));
            else if (IPEndPoint.TryParse(cluster, out var endpoint) || TryResolve(cluster, out endpoint))
                client.UseStaticClustering(endpoint!);
            else
                throw new ArgumentException($"--cluster '{cluster}' is neither redis://HOST:PORT nor a silo's client endpoint HOST:PORT.");
        });
        return builder;
    }

    /// <summary>
    /// OpenTelemetry traces (spans per round, gateway training, aggregation; Orleans' own) and metrics
    /// (fedgrains.*). Exporter: "console", "otlp" (OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4317) or
    /// "none"; unset means otlp when OTEL_EXPORTER_OTLP_ENDPOINT is set, else none.
    /// </summary>
    public static IHostApplicationBuilder AddFedGrainsTelemetry(this IHostApplicationBuilder builder, string? exporter)
    {
        exporter ??= Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 } ? "otlp" : "none";
        if (exporter is not ("console" or "otlp" or "none"))
            throw new ArgumentException($"FedGrains:Telemetry:Exporter='{exporter}' is not known: use console, otlp or none.");
        if (exporter == "none") return builder;
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("fedgrains"))
            .WithTracing(t =>
            {
                t.AddSource(Telemetry.Name, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application");
                if (exporter == "console") t.AddConsoleExporter(); else t.AddOtlpExporter();
            })
            .WithMetrics(m =>
            {
                m.AddMeter(Telemetry.Name, "Microsoft.Orleans");
                if (exporter == "console") m.AddConsoleExporter(); else m.AddOtlpExporter();
            });
        return builder;
    }

    private static IPAddress AdvertisedAddress(ClusterSettings cluster)
    {
        if (cluster.AdvertisedIPAddress is { Length: > 0 } text)
            return IPAddress.TryParse(text, out var ip) ? ip : throw new ArgumentException($"{ClusterSettings.Section}:AdvertisedIPAddress='{text}' is not an IP address.");
        return Dns.GetHostAddresses(Dns.GetHostName()).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
               ?? IPAddress.Loopback;
    }

    private static bool TryResolve(string hostPort, out IPEndPoint? endpoint)
    {
        endpoint = null;
        var colon = hostPort.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(hostPort[(colon + 1)..], out var port)) return false;
        try
        {
            var address = Dns.GetHostAddresses(hostPort[..colon]).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
            endpoint = address is null ? null : new IPEndPoint(address, port);
            return endpoint is not null;
        }
        catch (SocketException) { return false; }
    }

    /// <summary>A TCP port nobody listens on right now, for an in-process silo that must not clash with a running one.</summary>
    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
