using StackExchange.Redis;

namespace FedGrains.Grains.Hosting;

/// <summary>
/// The options of every connection to the cluster's Redis (membership, grain state, reminders, job index, replay
/// cache; silos and the CLI alike), from one connection string. With <c>ssl=true</c> and the deployment's CA (the
/// FedGrains:Tls:CertificateAuthority that issued Redis' certificate, `fedgrains provision --redis`), Redis'
/// certificate must chain to that CA, not to a public root.
/// </summary>
public static class RedisConnections
{
    public static ConfigurationOptions Options(string connection, string? certificateAuthority)
    {
        var options = ConfigurationOptions.Parse(connection);
        if (options.Ssl && !string.IsNullOrWhiteSpace(certificateAuthority)) options.TrustIssuer(certificateAuthority);
        return options;
    }
}
