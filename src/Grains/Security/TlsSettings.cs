namespace FedGrains.Grains.Security;

/// <summary>
/// Mutual TLS between silos and between clients and silos (configuration section "FedGrains:Tls"), with
/// certificates from `fedgrains provision`. Off by default: the embedded single-process setup has no network peers.
/// </summary>
public sealed class TlsSettings
{
    public const string Section = "FedGrains:Tls";

    /// <summary>When true, silos accept only TLS connections from peers whose certificate chains to <see cref="CertificateAuthority"/>; plaintext is refused.</summary>
    public bool Enabled { get; set; }

    /// <summary>Path of this silo's (or client's) PKCS#12 file (.pfx) with its private key, as `fedgrains provision` writes.</summary>
    public string? Certificate { get; set; }

    /// <summary>Password of <see cref="Certificate"/>; none for the files `fedgrains provision` writes (they are protected by mode 0600).</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>Path of the deployment CA's certificate (PEM, ca.pem): the only root trusted for peers.</summary>
    public string? CertificateAuthority { get; set; }

    /// <summary>What is wrong with the settings as given (the files are read by <see cref="TlsCredentials.Load"/>).</summary>
    public IEnumerable<string> Problems(TlsSettingNames? names = null)
    {
        if (!Enabled) yield break;
        names ??= TlsSettingNames.Configuration;
        if (string.IsNullOrWhiteSpace(Certificate))
            yield return $"{names.Certificate} must be set to this {names.Owner}'s .pfx when {names.Enabled} (make one with `fedgrains provision`).";
        else if (!File.Exists(Certificate))
            yield return $"{names.Certificate}='{Certificate}' does not exist: give the path of this {names.Owner}'s .pfx from `fedgrains provision`.";
        if (string.IsNullOrWhiteSpace(CertificateAuthority))
            yield return $"{names.Authority} must be set to the deployment's ca.pem when {names.Enabled}.";
        else if (!File.Exists(CertificateAuthority))
            yield return $"{names.Authority}='{CertificateAuthority}' does not exist: give the path of the ca.pem that `fedgrains provision` wrote.";
    }
}

/// <summary>How the settings are spelled where they came from, so messages name what the user typed.</summary>
public sealed record TlsSettingNames(string Certificate, string Password, string Authority, string Enabled, string Owner)
{
    public static readonly TlsSettingNames Configuration = new($"{TlsSettings.Section}:Certificate", $"{TlsSettings.Section}:CertificatePassword",
        $"{TlsSettings.Section}:CertificateAuthority", $"{TlsSettings.Section}:Enabled=true", "silo");
}
