using FedGrains.Grains.Security;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Connections.Security;

namespace FedGrains.Grains.Hosting;

/// <summary>
/// Mutual TLS with Orleans' TLS package. Orleans' own <c>UseTls</c> gives the silo port and the client port one
/// validation; FedGrains wants a different peer on each (silos on the silo port, clients on the client port), so it
/// adds the package's TLS middleware per endpoint, each with its own <see cref="PeerRole"/>.
/// </summary>
public static class TlsHostingExtensions
{
    /// <summary>TLS on the silo port (in and out) and the client port; every peer must present a certificate from the CA.</summary>
    public static ISiloBuilder UseFedGrainsTls(this ISiloBuilder builder, TlsCredentials credentials)
    {
        builder.Configure<SiloConnectionOptions>(o =>
        {
            o.ConfigureSiloInboundConnection(c => c.UseServerTls(Options(c, credentials, PeerRole.SiloConnectingIn, "silo port")));
            o.ConfigureSiloOutboundConnection(c => c.UseClientTls(Options(c, credentials, PeerRole.SiloServing, "connection to another silo")));
            o.ConfigureGatewayInboundConnection(c => c.UseServerTls(Options(c, credentials, PeerRole.Client, "client port")));
        });
        builder.Services.AddSingleton(new SecAggSigning(credentials));
        builder.AddStartupTask((services, _) =>
        {
            TlsLog.Enabled(services.GetRequiredService<ILoggerFactory>().CreateLogger(LoggerName), credentials.Identity.Uri,
                credentials.Certificate.Thumbprint, credentials.Certificate.NotAfter.ToUniversalTime(), credentials.Validator.Authority.Subject);
            return Task.CompletedTask;
        });
        return builder;
    }

    /// <summary>TLS to the silos' client port with this client's certificate; the silo must present a silo certificate from the CA.</summary>
    public static IClientBuilder UseFedGrainsTls(this IClientBuilder builder, TlsCredentials credentials)
    {
        builder.Configure<ClientConnectionOptions>(o =>
            o.ConfigureConnection(c => c.UseClientTls(Options(c, credentials, PeerRole.SiloServing, "connection to the cluster"))));
        return builder;
    }

    public const string LoggerName = "FedGrains.Tls";

    private static TlsOptions Options(IConnectionBuilder connection, TlsCredentials credentials, PeerRole peer, string endpoint)
    {
        var logger = connection.ApplicationServices.GetService<ILoggerFactory>()?.CreateLogger(LoggerName);
        return new TlsOptions
        {
            LocalCertificate = credentials.Certificate,
            RemoteCertificateMode = RemoteCertificateMode.RequireCertificate,
            // A client end must send its certificate: the default (Allow) would silently drop one without clientAuth.
            ClientCertificateMode = RemoteCertificateMode.RequireCertificate,
            CheckCertificateRevocation = false,
            // The platform's verdict (system roots, host name) is ignored on purpose: the validator decides, against the CA alone.
            RemoteCertificateValidation = (certificate, _, _) =>
            {
                if (credentials.Validator.Check(certificate, peer) is not { } reason) return true;
                if (logger is not null)
                    TlsLog.Refused(logger, endpoint, certificate.Subject, CertificateIdentity.Of(certificate)?.Uri ?? "none", certificate.Thumbprint, reason);
                return false;
            },
        };
    }
}
