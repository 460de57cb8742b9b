using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FedGrains.Grains.Security;
using Microsoft.Extensions.Time.Testing;

namespace FedGrains.Cluster.Tests.Security;

/// <summary>`fedgrains provision`'s files, and every bad certificate a silo or client must refuse to start with.</summary>
public sealed class ProvisioningTests : IDisposable
{
    private readonly TlsFolders folders = new();

    public void Dispose() => folders.Dispose();

    [Fact]
    public void Provisioned_files_chain_to_the_ca_carry_their_identities_and_keep_keys_private()
    {
        var validator = new PeerCertificateValidator(X509CertificateLoader.LoadCertificateFromFile(folders.Ca), TimeProvider.System);
        var expected = new Dictionary<string, CertificateIdentity>
        {
            ["silo-op.pfx"] = new(CertificateKind.Silo, "op"),
            ["site-hospital-a.pfx"] = new(CertificateKind.Site, "hospital-a"),
            ["client-alice.pfx"] = new(CertificateKind.Client, "alice"),
        };
        foreach (var (file, identity) in expected)
        {
            var certificate = X509CertificateLoader.LoadPkcs12FromFile(folders.Ours_(file), null);
            Assert.True(certificate.HasPrivateKey);
            Assert.Equal(identity, CertificateIdentity.Of(certificate));
            Assert.Equal("1.2.840.10045.3.1.7", certificate.GetECDsaPublicKey()!.ExportParameters(false).Curve.Oid.Value); // P-256
            Assert.Null(validator.Check(certificate, identity.IsSilo ? PeerRole.SiloServing : PeerRole.Client));
            Assert.Equal(identity.Kind == CertificateKind.Site ? "hospital-a" : null, CertificateIdentity.SiteOf(certificate));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, Mode(folders.Ours_(file)));
        }
        var silo = X509CertificateLoader.LoadPkcs12FromFile(folders.Ours_("silo-op.pfx"), null);
        var names = silo.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains("localhost", names.EnumerateDnsNames());
        Assert.Contains(System.Net.IPAddress.Loopback, names.EnumerateIPAddresses());
        var usages = silo.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value);
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], usages);
        var client = X509CertificateLoader.LoadPkcs12FromFile(folders.Ours_("client-alice.pfx"), null);
        Assert.Equal(["1.3.6.1.5.5.7.3.2"], client.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, Mode(folders.Ours_(Provisioning.AuthorityKeyFile)));
        Assert.DoesNotContain("PRIVATE KEY", File.ReadAllText(folders.Ca));
    }

    [Fact]
    public void Redis_gets_pem_files_for_a_server_certificate_that_no_silo_or_client_may_present()
    {
        var result = Provisioning.Run(new ProvisionRequest(folders.Ours, [], [], [], ["redis.example.org"], Redis: ["cache"]), TimeProvider.System);
        var crt = Assert.Single(result.Files).Path;
        Assert.Equal(folders.Ours_("redis-cache.crt"), crt);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, Mode(Provisioning.RedisKeyFile(crt)));
        Assert.DoesNotContain("PRIVATE KEY", File.ReadAllText(crt));
        // The pair redis-server loads (--tls-cert-file, --tls-key-file).
        var certificate = X509Certificate2.CreateFromPemFile(crt, Provisioning.RedisKeyFile(crt));
        Assert.True(certificate.HasPrivateKey);
        Assert.Equal(new CertificateIdentity(CertificateKind.Redis, "cache"), CertificateIdentity.Of(certificate));
        Assert.Equal(["1.3.6.1.5.5.7.3.1"], certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value));
        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["localhost", "redis.example.org"], names.EnumerateDnsNames());
        Assert.Contains(System.Net.IPAddress.Loopback, names.EnumerateIPAddresses());

        var validator = new PeerCertificateValidator(X509CertificateLoader.LoadCertificateFromFile(folders.Ca), TimeProvider.System);
        foreach (var role in new[] { PeerRole.SiloServing, PeerRole.SiloConnectingIn, PeerRole.Client })
            Assert.NotNull(validator.Check(certificate, role));
        Assert.Contains("Redis' server certificate", validator.Check(certificate, PeerRole.SiloServing));
        // Run again: kept, not re-issued.
        var again = Provisioning.Run(new ProvisionRequest(folders.Ours, [], [], [], [], Redis: ["cache"]), TimeProvider.System);
        Assert.False(Assert.Single(again.Files).Created);
    }

    [Fact]
    public void Re_running_adds_certificates_with_the_same_ca_and_overwrites_nothing()
    {
        var before = Directory.GetFiles(folders.Ours).ToDictionary(f => f, File.ReadAllBytes);

        var result = Provisioning.Run(new ProvisionRequest(folders.Ours, ["op"], ["hospital-b"], ["alice"], ["silo.example"]), TimeProvider.System);

        Assert.False(result.AuthorityCreated);
        Assert.Equal([false, true, false], result.Files.Select(f => f.Created));
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));
        var added = X509CertificateLoader.LoadPkcs12FromFile(folders.Ours_("site-hospital-b.pfx"), null);
        Assert.Null(new PeerCertificateValidator(X509CertificateLoader.LoadCertificateFromFile(folders.Ca), TimeProvider.System).Check(added, PeerRole.SiloConnectingIn));
        Assert.Contains("silo.example", added.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames());
    }

    [Fact]
    public void The_cli_provisions_and_says_to_keep_the_ca_key_offline()
    {
        var dir = Path.Combine(folders.Ours, "cli");
        using var cli = ProcessRunner.StartDotnet("fedgrains.dll", ["provision", "--output", dir, "--silo", "a", "--site", "s1", "--client", "c1"]);
        Assert.Equal(0, cli.WaitAsync(TimeSpan.FromMinutes(1)).GetAwaiter().GetResult());
        Assert.Contains("keep it offline", cli.Output);
        Assert.True(File.Exists(Path.Combine(dir, "site-s1.pfx")));
        using var bad = ProcessRunner.StartDotnet("fedgrains.dll", ["provision", "--output", dir, "--client", "no/slashes"]);
        Assert.Equal(2, bad.WaitAsync(TimeSpan.FromMinutes(1)).GetAwaiter().GetResult());
        Assert.Contains("--client 'no/slashes' must be", bad.Output);
        Assert.DoesNotContain("   at ", bad.Output);
    }

    [Fact]
    public void A_silo_refuses_to_start_with_a_missing_corrupted_keyless_wrong_password_foreign_expired_or_client_certificate()
    {
        string Problem(TlsSettings settings, bool forSilo = true)
        {
            Assert.Null(TlsCredentials.TryLoad(settings, forSilo, TimeProvider.System, out var problems));
            return string.Join("\n", problems);
        }

        Assert.Contains("FedGrains:Tls:Certificate must be set", Problem(new TlsSettings { Enabled = true, CertificateAuthority = folders.Ca }));
        Assert.Contains("FedGrains:Tls:CertificateAuthority must be set", Problem(new TlsSettings { Enabled = true, Certificate = folders.Ours_("silo-op.pfx") }));
        Assert.Contains("does not exist", Problem(folders.Settings(folders.Ours_("nope.pfx"))));

        var corrupted = folders.Ours_("corrupted.pfx");
        var bytes = File.ReadAllBytes(folders.Ours_("silo-op.pfx"));
        bytes[bytes.Length / 2] ^= 0xff;
        File.WriteAllBytes(corrupted, bytes);
        Assert.Contains("cannot be opened as a PKCS#12", Problem(folders.Settings(corrupted)));

        var withPassword = folders.Ours_("password.pfx");
        File.WriteAllBytes(withPassword, X509CertificateLoader.LoadPkcs12FromFile(folders.Ours_("silo-op.pfx"), null).Export(X509ContentType.Pkcs12, "right"));
        var wrong = Problem(new TlsSettings { Enabled = true, Certificate = withPassword, CertificatePassword = "wrong", CertificateAuthority = folders.Ca });
        Assert.Contains("FedGrains:Tls:CertificatePassword", wrong);
        Assert.DoesNotContain("right", wrong);
        Assert.NotNull(TlsCredentials.TryLoad(new TlsSettings { Enabled = true, Certificate = withPassword, CertificatePassword = "right", CertificateAuthority = folders.Ca },
            true, TimeProvider.System, out _));

        var keyless = folders.Ours_("keyless.pfx");
        File.WriteAllBytes(keyless, X509CertificateLoader.LoadCertificate(X509CertificateLoader.LoadPkcs12FromFile(folders.Ours_("silo-op.pfx"), null).RawData).Export(X509ContentType.Pkcs12));
        Assert.Contains("holds no private key", Problem(folders.Settings(keyless)));

        Assert.Contains("is not issued by the deployment's CA", Problem(folders.Settings(folders.Theirs_("silo-intruder.pfx"))));
        Assert.Contains("is not a CA certificate", WritePem());
        Assert.Contains("holds 0 certificates", Problem(folders.Settings(folders.Ours_("silo-op.pfx"), folders.Ours_(Provisioning.AuthorityKeyFile))));
        Assert.Contains("a client certificate, where a silo's is required", Problem(folders.Settings(folders.Ours_("client-alice.pfx"))));
        Assert.Contains("a silo certificate, where a client's is required", Problem(folders.Settings(folders.Ours_("silo-op.pfx")), forSilo: false));

        // A deployment provisioned 400 days ago with one-day certificates: expired now, and the silo says when.
        var old = Path.Combine(folders.Ours, "old");
        Provisioning.Run(new ProvisionRequest(old, ["stale"], [], [], [], ValidDays: 1), new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-400)));
        Assert.Contains("expired on", Problem(folders.Settings(Path.Combine(old, "silo-stale.pfx"), Path.Combine(old, Provisioning.AuthorityFile))));

        string WritePem()
        {
            var pem = folders.Ours_("silo-op.cert.pem");
            File.WriteAllText(pem, X509CertificateLoader.LoadPkcs12FromFile(folders.Ours_("silo-op.pfx"), null).ExportCertificatePem());
            return Problem(folders.Settings(folders.Ours_("silo-op.pfx"), pem));
        }
    }

    private static UnixFileMode Mode(string path) =>
        OperatingSystem.IsWindows() ? UnixFileMode.UserRead | UnixFileMode.UserWrite : File.GetUnixFileMode(path);

    [Fact]
    public void Identities_parse_only_from_fedgrains_uris()
    {
        Assert.Equal(new CertificateIdentity(CertificateKind.Site, "hospital-a"), CertificateIdentity.Parse("fedgrains:site:hospital-a"));
        Assert.Null(CertificateIdentity.Parse("fedgrains:admin:root"));
        Assert.Null(CertificateIdentity.Parse("https://fedgrains/site/x"));
        Assert.Null(CertificateIdentity.Parse("fedgrains:client:a/b"));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var bare = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        Assert.Null(CertificateIdentity.Of(bare));
        Assert.Null(CertificateIdentity.SiteOf(bare));
    }
}
