using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Grains.Security;

/// <summary>
/// The deployment's certificates as SecAgg+'s PKI (Bell et al. 2020 assume one): a gateway on a site silo signs its
/// round keys and the survivor set with its site's certificate, and takes a neighbour's keys only when they are
/// signed by a certificate of the deployment's CA for that neighbour's own site. The federation relays keys, so
/// without this it could hand a gateway keys it made itself for every neighbour and read both kinds of its shares.
/// Without TLS (the embedded default) there are no certificates and rounds are unsigned: the federation is trusted.
/// </summary>
public sealed class SecAggSigning
{
    /// <summary>No certificates: unsigned rounds.</summary>
    public static readonly SecAggSigning None = new(null);

    private readonly TlsCredentials? _credentials;
    private readonly CertificateSigner? _signer;
    // Accepted certificates, by the SHA-256 of their DER: each is chained to the CA once. Refused ones are not kept,
    // so bytes a federation makes up cannot fill the cache.
    private readonly ConcurrentDictionary<string, (ECDsa Key, string Site, DateTime NotAfter)> _accepted = new();

    public SecAggSigning(TlsCredentials? credentials)
    {
        _credentials = credentials;
        if (credentials is not null && CertificateIdentity.SiteOf(credentials.Certificate) is not null)
            _signer = new CertificateSigner(credentials.Certificate);
    }

    /// <summary>
    /// The identity of a gateway on this silo when the silo holds a site certificate, else null (unsigned). A signed
    /// gateway accepts only signed neighbours: a federation cannot strip the signatures to fall back.
    /// </summary>
    public SecAggIdentity? IdentityFor(string gatewayId, JobSpec spec) =>
        _signer is null ? null : new SecAggIdentity(gatewayId, _signer, new Verifier(this, SitesOf(spec)));

    /// <summary>The federation's check of the keys it relays (so one bad gateway drops alone); null without TLS.</summary>
    public ISecAggVerifier? VerifierFor(JobSpec spec) => _credentials is null ? null : new Verifier(this, SitesOf(spec));

    /// <summary>The site of the gateway a key claims to be, as the spec names it; null for a gateway the job does not have.</summary>
    private static Func<string, string?> SitesOf(JobSpec spec) => spec.ResolveGateways().ToDictionary(g => g.Id, g => g.SiteId).GetValueOrDefault;

    private bool Verify(string owner, byte[] signer, byte[] message, byte[] signature, Func<string, string?> siteOf)
    {
        if (siteOf(owner) is not { } site || Accepted(signer) is not { } accepted || accepted.Site != site) return false;
        if (DateTime.UtcNow > accepted.NotAfter) return false; // expired since it was accepted
        lock (accepted.Key) return accepted.Key.VerifyData(message, signature, HashAlgorithmName.SHA256);
    }

    private (ECDsa Key, string Site, DateTime NotAfter)? Accepted(byte[] der)
    {
        var digest = Convert.ToHexString(SHA256.HashData(der));
        if (_accepted.TryGetValue(digest, out var known)) return known;
        try
        {
            using var certificate = X509CertificateLoader.LoadCertificate(der);
            // A site certificate of this deployment's CA, valid now, for a silo's own authentication.
            if (_credentials!.Validator.Check(certificate, PeerRole.SiloConnectingIn) is not null || CertificateIdentity.SiteOf(certificate) is not { } site
                || certificate.GetECDsaPublicKey() is not { } key)
                return null;
            return _accepted.GetOrAdd(digest, (key, site, certificate.NotAfter.ToUniversalTime()));
        }
        catch (CryptographicException) { return null; }
    }

    private sealed class Verifier(SecAggSigning signing, Func<string, string?> siteOf) : ISecAggVerifier
    {
        public bool Verify(string owner, byte[] signer, byte[] message, byte[] signature) => signing.Verify(owner, signer, message, signature, siteOf);
    }

    private sealed class CertificateSigner(X509Certificate2 certificate) : ISecAggSigner
    {
        private readonly ECDsa _key = certificate.GetECDsaPrivateKey()
            ?? throw new InvalidOperationException($"the site certificate {certificate.Subject} has no ECDSA private key to sign secure-aggregation keys with");

        public byte[] Signer { get; } = certificate.RawData;

        public byte[] Sign(byte[] message)
        {
            lock (_key) return _key.SignData(message, HashAlgorithmName.SHA256);
        }
    }
}
