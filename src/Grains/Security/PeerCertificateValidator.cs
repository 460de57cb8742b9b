using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FedGrains.Grains.Security;

/// <summary>
/// Decides whether a peer's certificate may be used for a connection: it must chain to the deployment's CA and to
/// nothing else (no system roots), be within its validity period, carry the extended key usage of its side of the
/// handshake, and name a FedGrains identity of the expected kind. Host names are not checked: silos reach each other
/// at addresses taken from membership (pod IPs that change), so the CA-signed identity is what names a peer.
/// </summary>
public sealed class PeerCertificateValidator(X509Certificate2 authority, TimeProvider time)
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1", "Server Authentication");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    public X509Certificate2 Authority => authority;

    /// <summary>Null when <paramref name="certificate"/> may be used as <paramref name="role"/>, else why not (a sentence fragment: "is not issued by ...").</summary>
    public string? Check(X509Certificate2 certificate, PeerRole role)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        // Revocation is not checked: FedGrains' CA publishes no CRL or OCSP responder. Withdraw a certificate by
        // issuing a new CA (or keeping lifetimes short); a deployment that needs revocation needs a real PKI.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = time.GetUtcNow().UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.ApplicationPolicy.Add(role == PeerRole.SiloServing ? ServerAuth : ClientAuth);
        try
        {
            if (!chain.Build(certificate)) return Describe(certificate, chain, role);
        }
        catch (CryptographicException e)
        {
            return $"cannot be checked: {e.Message}";
        }
        var root = chain.ChainElements[^1].Certificate;
        if (!root.RawDataMemory.Span.SequenceEqual(authority.RawDataMemory.Span)) return $"chains to '{root.Subject}', not to the deployment's CA";
        return CertificateIdentity.Of(certificate) switch
        {
            null => "names no FedGrains identity (a SAN URI fedgrains:silo|site|client:NAME); issue it with `fedgrains provision`",
            { Kind: CertificateKind.Redis } id => $"is {id}, Redis' server certificate, which no silo or client may present",
            { IsSilo: false } id when role != PeerRole.Client => $"is {id}, a client certificate, where a silo's is required",
            { IsSilo: true } id when role == PeerRole.Client => $"is {id}, a silo certificate, where a client's is required on the client port",
            _ => null,
        };
    }

    private string Describe(X509Certificate2 certificate, X509Chain chain, PeerRole role)
    {
        var flags = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
        var now = time.GetUtcNow();
        if (flags.HasFlag(X509ChainStatusFlags.NotTimeValid))
            return now.UtcDateTime > certificate.NotAfter.ToUniversalTime()
                ? $"expired on {certificate.NotAfter.ToUniversalTime():u}"
                : certificate.NotBefore.ToUniversalTime() > now.UtcDateTime
                    ? $"is not valid before {certificate.NotBefore.ToUniversalTime():u}"
                    : "chains to a CA certificate outside its validity period";
        if (flags.HasFlag(X509ChainStatusFlags.UntrustedRoot) || flags.HasFlag(X509ChainStatusFlags.PartialChain))
            return $"is not issued by the deployment's CA '{authority.Subject}' (its issuer is '{certificate.Issuer}')";
        if (flags.HasFlag(X509ChainStatusFlags.NotValidForUsage))
            return $"is not issued for {(role == PeerRole.SiloServing ? "server" : "client")} authentication (extended key usage)";
        if (flags.HasFlag(X509ChainStatusFlags.NotSignatureValid))
            return "has a signature that does not verify";
        return "does not chain to the deployment's CA: " + string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()));
    }
}
