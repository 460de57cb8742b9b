using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FedGrains.Grains.Security;

/// <summary>
/// A deployment's certificates, as `fedgrains provision` makes them: a CA (ca.pem, ca.key.pem) and one PKCS#12 file
/// per silo, site silo and client, each signed by the CA with its identity in a SAN URI (<see cref="CertificateIdentity"/>).
/// Keys are ECDSA P-256. Redis' server certificate is written as PEM files for redis-server's TLS. A folder that already has a CA is added to with that CA, and no existing file is replaced,
/// so a site can join later without re-issuing anyone's certificate.
/// </summary>
public static class Provisioning
{
    public const string AuthorityFile = "ca.pem";
    public const string AuthorityKeyFile = "ca.key.pem";

    private static readonly OidCollection SiloUsages = [new("1.3.6.1.5.5.7.3.1"), new("1.3.6.1.5.5.7.3.2")];
    private static readonly OidCollection ClientUsages = [new("1.3.6.1.5.5.7.3.2")];
    private static readonly OidCollection ServerUsages = [new("1.3.6.1.5.5.7.3.1")];

    /// <summary>
    /// The file a certificate for <paramref name="identity"/> is written to, e.g. site-hospital-a.pfx; for Redis,
    /// redis-NAME.crt (its key in redis-NAME.key), the PEM files redis-server's --tls-cert-file/--tls-key-file read.
    /// </summary>
    public static string FileName(CertificateIdentity identity) =>
        $"{identity.Kind.ToString().ToLowerInvariant()}-{identity.Name}{(identity.Kind == CertificateKind.Redis ? ".crt" : ".pfx")}";

    /// <summary>The PEM private key beside a Redis certificate.</summary>
    public static string RedisKeyFile(string certificatePath) => Path.ChangeExtension(certificatePath, ".key");

    /// <summary>
    /// Issues a certificate for every identity in <paramref name="request"/> that has no file yet in its folder,
    /// creating the CA first if the folder has none. Throws <see cref="ArgumentException"/> for a bad name or a
    /// folder whose CA cannot be used.
    /// </summary>
    public static ProvisionResult Run(ProvisionRequest request, TimeProvider time)
    {
        var identities = request.Silos.Select(n => new CertificateIdentity(CertificateKind.Silo, n))
            .Concat(request.Sites.Select(n => new CertificateIdentity(CertificateKind.Site, n)))
            .Concat(request.Clients.Select(n => new CertificateIdentity(CertificateKind.Client, n)))
            .Concat((request.Redis ?? []).Select(n => new CertificateIdentity(CertificateKind.Redis, n))).ToList();
        foreach (var bad in identities.Where(i => !CertificateIdentity.IsValidName(i.Name)))
            throw new ArgumentException($"--{bad.Kind.ToString().ToLowerInvariant()} '{bad.Name}' must be 1-64 letters, digits, '.', '_' or '-'.");
        foreach (var dns in request.DnsNames.Where(d => Uri.CheckHostName(d) != UriHostNameType.Dns))
            throw new ArgumentException($"--dns '{dns}' is not a DNS name.");
        if (request.ValidDays is < 1 or > 3650) throw new ArgumentException($"--days {request.ValidDays} must be in 1..3650.");

        Directory.CreateDirectory(request.Output);
        var now = time.GetUtcNow();
        var (authority, created) = LoadOrCreateAuthority(request.Output, now);
        using (authority)
        {
            var issued = new List<ProvisionedFile>();
            foreach (var identity in identities.Distinct())
            {
                var path = Path.Combine(request.Output, FileName(identity));
                if (File.Exists(path))
                {
                    issued.Add(new(path, identity, Created: false));
                    continue;
                }
                if (identity.Kind == CertificateKind.Redis && File.Exists(RedisKeyFile(path)))
                    throw new ArgumentException($"{RedisKeyFile(path)} exists without {path}: remove the key, or restore the certificate.");
                WriteIssued(path, identity, Issue(authority, identity, request.DnsNames, now, request.ValidDays));
                issued.Add(new(path, identity, Created: true));
            }
            return new ProvisionResult(Path.Combine(request.Output, AuthorityFile), Path.Combine(request.Output, AuthorityKeyFile), created, issued);
        }
    }

    private static (X509Certificate2 Authority, bool Created) LoadOrCreateAuthority(string dir, DateTimeOffset now)
    {
        string certificate = Path.Combine(dir, AuthorityFile), key = Path.Combine(dir, AuthorityKeyFile);
        if (File.Exists(certificate))
        {
            if (!File.Exists(key))
                throw new ArgumentException($"{certificate} exists but {key} does not: bring the CA's key back from offline storage to issue more certificates with this CA.");
            try
            {
                return (X509Certificate2.CreateFromPemFile(certificate, key), false);
            }
            catch (CryptographicException e)
            {
                throw new ArgumentException($"the CA in {dir} cannot be loaded ({e.Message}): {AuthorityFile} and {AuthorityKeyFile} must be the pair `fedgrains provision` wrote.", e);
            }
        }
        if (File.Exists(key)) throw new ArgumentException($"{key} exists without {certificate}: restore {AuthorityFile}, or remove the key to start a new CA.");

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // A random part in the name tells two deployments' CAs apart in logs and error messages.
        var request = new CertificateRequest($"CN=FedGrains CA {Convert.ToHexString(RandomNumberGenerator.GetBytes(4))}, O=FedGrains", caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var ca = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));
        WritePrivate(key, System.Text.Encoding.ASCII.GetBytes(caKey.ExportPkcs8PrivateKeyPem()));
        File.WriteAllText(certificate, ca.ExportCertificatePem() + "\n");
        return (ca, true);
    }

    // Silos and clients read a PKCS#12 file; redis-server reads a PEM certificate and a PEM key.
    private static void WriteIssued(string path, CertificateIdentity identity, X509Certificate2 issued)
    {
        using (issued)
        {
            if (identity.Kind != CertificateKind.Redis)
            {
                WritePrivate(path, issued.Export(X509ContentType.Pkcs12));
                return;
            }
            using var key = issued.GetECDsaPrivateKey()!;
            WritePrivate(RedisKeyFile(path), System.Text.Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem() + "\n"));
            File.WriteAllText(path, issued.ExportCertificatePem() + "\n");
        }
    }

    private static X509Certificate2 Issue(X509Certificate2 authority, CertificateIdentity identity, IReadOnlyList<string> dnsNames, DateTimeOffset now, int days)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={identity.Name}, OU={identity.Kind}, O=FedGrains", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            identity.IsSilo ? SiloUsages : identity.Kind == CertificateKind.Redis ? ServerUsages : ClientUsages, critical: false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(new Uri(identity.Uri));
        if (identity.IsSilo || identity.Kind == CertificateKind.Redis)
        {
            // Loopback names so a silo on this machine validates for tools that check host names (FedGrains checks the identity).
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            foreach (var dns in dnsNames) names.AddDnsName(dns);
        }
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        var notAfter = now.AddDays(days) < authority.NotAfter ? now.AddDays(days) : new DateTimeOffset(authority.NotAfter.ToUniversalTime());
        using var certificate = request.Create(authority, now.AddMinutes(-5), notAfter, serial);
        return certificate.CopyWithPrivateKey(key);
    }

    /// <summary>Creates the file readable by its owner only (0600), and never over an existing one.</summary>
    private static void WritePrivate(string path, byte[] content)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var file = new FileStream(path, options);
        file.Write(content);
    }
}

/// <summary>What to provision: the folder, the names per kind, extra DNS names for silo certificates, and the leaf lifetime.</summary>
public sealed record ProvisionRequest(string Output, IReadOnlyList<string> Silos, IReadOnlyList<string> Sites, IReadOnlyList<string> Clients,
    IReadOnlyList<string> DnsNames, int ValidDays = 365, IReadOnlyList<string>? Redis = null);

/// <summary>One certificate file: issued now, or found and kept.</summary>
public sealed record ProvisionedFile(string Path, CertificateIdentity Identity, bool Created);

public sealed record ProvisionResult(string Authority, string AuthorityKey, bool AuthorityCreated, IReadOnlyList<ProvisionedFile> Files);
