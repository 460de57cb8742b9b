using System.CommandLine;
using FedGrains.Grains.Security;

namespace FedGrains.Cli.Commands;

/// <summary>--tls-certificate and --tls-ca: the CLI's side of a cluster's mutual TLS (FedGrains:Tls on the silos).</summary>
internal static class ClusterTls
{
    private const string PasswordVariable = "FEDGRAINS_TLS_PASSWORD";

    private static readonly TlsSettingNames Names = new("--tls-certificate", "$" + PasswordVariable, "--tls-ca", "--tls-certificate is given", "client");

    internal static readonly Option<FileInfo?> Certificate = new("--tls-certificate")
    {
        Description = "This client's .pfx from `fedgrains provision --client ID`, when the cluster has FedGrains:Tls:Enabled (default $FEDGRAINS_TLS_CERTIFICATE; its password, if any, in $" + PasswordVariable + ").",
        Recursive = true,
    };

    internal static readonly Option<FileInfo?> Authority = new("--tls-ca")
    {
        Description = "The deployment's ca.pem: the silos' certificates must be issued by it (default $FEDGRAINS_TLS_CA).",
        Recursive = true,
    };

    /// <summary>Adds both options to each cluster command.</summary>
    public static IEnumerable<Command> AddTo(IEnumerable<Command> commands) => commands.Select(c =>
    {
        c.Add(Certificate);
        c.Add(Authority);
        return c;
    });

    /// <summary>
    /// The TLS settings the flags ask for, checked now so a bad path, password or certificate exits 2 naming the flag;
    /// null when neither flag is given (a plaintext cluster).
    /// </summary>
    private static FileInfo? FromEnvironment(string variable) => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } path ? new FileInfo(path) : null;

    public static TlsSettings? From(ParseResult r)
    {
        var (certificate, authority) = (r.GetValue(Certificate) ?? FromEnvironment("FEDGRAINS_TLS_CERTIFICATE"), r.GetValue(Authority) ?? FromEnvironment("FEDGRAINS_TLS_CA"));
        if (certificate is null && authority is null) return null;
        if (certificate is null) throw new ArgumentException("--tls-ca is given without --tls-certificate: give this client's .pfx from `fedgrains provision --client ID` too.");
        var settings = new TlsSettings
        {
            Enabled = true,
            Certificate = certificate.FullName,
            CertificateAuthority = authority?.FullName,
            CertificatePassword = Environment.GetEnvironmentVariable(PasswordVariable),
        };
        if (TlsCredentials.TryLoad(settings, forSilo: false, TimeProvider.System, out var problems, Names) is null)
            throw new ArgumentException(string.Join(Environment.NewLine + "error: ", problems));
        return settings;
    }
}
