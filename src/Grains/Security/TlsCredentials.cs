using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FedGrains.Grains.Security;

/// <summary>
/// A silo's or client's certificate with its private key, and the CA its peers must chain to; loaded from
/// <see cref="TlsSettings"/> and checked before anything listens or connects, so a bad file fails at start.
/// </summary>
public sealed class TlsCredentials
{
    private TlsCredentials(X509Certificate2 certificate, CertificateIdentity identity, PeerCertificateValidator validator) =>
        (Certificate, Identity, Validator) = (certificate, identity, validator);

    public X509Certificate2 Certificate { get; }
    public CertificateIdentity Identity { get; }
    public PeerCertificateValidator Validator { get; }

    /// <summary>
    /// Loads and checks the files: readable, a private key, issued by the CA, within its validity period, and a
    /// silo certificate for a silo (<paramref name="forSilo"/>) or a client certificate for a client.
    /// Null with <paramref name="problems"/> naming each bad setting (as <paramref name="names"/> spells it) and the fix.
    /// </summary>
    public static TlsCredentials? TryLoad(TlsSettings settings, bool forSilo, TimeProvider time, out List<string> problems, TlsSettingNames? names = null)
    {
        names ??= TlsSettingNames.Configuration;
        problems = settings.Problems(names).ToList();
        if (problems.Count > 0) return null;
        var authority = LoadAuthority(settings.CertificateAuthority!, names, problems);
        var certificate = LoadCertificate(settings, names, problems);
        if (authority is null || certificate is null) return null;

        var validator = new PeerCertificateValidator(authority, time);
        var fix = $"issue a new one with `fedgrains provision` from the CA in {names.Authority}";
        foreach (var role in forSilo ? new[] { PeerRole.SiloConnectingIn, PeerRole.SiloServing } : [PeerRole.Client])
            if (validator.Check(certificate, role) is { } reason)
            {
                problems.Add($"{names.Certificate}='{settings.Certificate}' {reason}: {fix}.");
                return null;
            }
        return new TlsCredentials(certificate, CertificateIdentity.Of(certificate)!, validator);
    }

    /// <summary><see cref="TryLoad"/> for a silo, throwing the problems at start.</summary>
    public static TlsCredentials Load(TlsSettings settings, bool forSilo, TimeProvider time, TlsSettingNames? names = null) =>
        TryLoad(settings, forSilo, time, out var problems, names)
        ?? throw new Microsoft.Extensions.Options.OptionsValidationException(TlsSettings.Section, typeof(TlsSettings), problems);

    private static X509Certificate2? LoadAuthority(string path, TlsSettingNames names, List<string> problems)
    {
        var found = new X509Certificate2Collection();
        try
        {
            found.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            problems.Add($"{names.Authority}='{path}' cannot be read as a PEM certificate ({e.Message}): give the ca.pem that `fedgrains provision` wrote.");
            return null;
        }
        if (found.Count != 1)
        {
            problems.Add($"{names.Authority}='{path}' holds {found.Count} certificates, not one: give ca.pem (the CA's certificate; never ca.key.pem).");
            return null;
        }
        var ca = found[0];
        if (ca.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
        {
            problems.Add($"{names.Authority}='{path}' is not a CA certificate ('{ca.Subject}'): give the deployment's ca.pem, not a silo's or client's certificate.");
            return null;
        }
        return ca;
    }

    private static X509Certificate2? LoadCertificate(TlsSettings settings, TlsSettingNames names, List<string> problems)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(settings.Certificate!, settings.CertificatePassword);
        }
        catch (CryptographicException e)
        {
            problems.Add($"{names.Certificate}='{settings.Certificate}' cannot be opened as a PKCS#12 (.pfx) file ({e.Message.TrimEnd('.')}): " +
                         $"check {names.Password} (none for `fedgrains provision` files) and that the file is the .pfx it wrote, unmodified.");
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"{names.Certificate}='{settings.Certificate}' cannot be read ({e.Message}): check the path and that this user may read it.");
            return null;
        }
        if (!certificate.HasPrivateKey)
        {
            problems.Add($"{names.Certificate}='{settings.Certificate}' holds no private key: give the .pfx that `fedgrains provision` wrote, not a certificate alone.");
            return null;
        }
        return certificate;
    }
}
