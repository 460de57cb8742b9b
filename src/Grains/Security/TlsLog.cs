using Microsoft.Extensions.Logging;

namespace FedGrains.Grains.Security;

internal static partial class TlsLog
{
    /// <summary>Certificates are public: subject, identity and thumbprint name the peer without revealing anything secret.</summary>
    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning,
        Message = "TLS handshake refused on the {Endpoint}: the peer's certificate (subject '{Subject}', identity {Identity}, thumbprint {Thumbprint}) {Reason}")]
    public static partial void Refused(ILogger logger, string endpoint, string subject, string identity, string thumbprint, string reason);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information,
        Message = "Mutual TLS on: this silo is {Identity} (certificate {Thumbprint}, valid until {NotAfter:u}); peers must chain to the CA '{Authority}'")]
    public static partial void Enabled(ILogger logger, string identity, string thumbprint, DateTime notAfter, string authority);
}
