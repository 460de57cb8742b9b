using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace FedGrains.Grains.Security;

/// <summary>
/// Who a FedGrains certificate speaks for. The identity is the certificate's single SAN URI
/// <c>fedgrains:KIND:NAME</c> (KIND silo, site or client), written by <see cref="Provisioning"/> and signed by the
/// deployment's CA, so it is as trustworthy as the chain to that CA: check the chain first (<see cref="PeerCertificateValidator"/>).
/// </summary>
public sealed record CertificateIdentity(CertificateKind Kind, string Name)
{
    public const string UriScheme = "fedgrains";

    /// <summary>A silo certificate (federation or site): may sit on both ends of silo-to-silo TLS and serve the client port.</summary>
    public bool IsSilo => Kind is CertificateKind.Silo or CertificateKind.Site;

    /// <summary>The SAN URI that carries this identity, e.g. fedgrains:site:hospital-a.</summary>
    public string Uri => $"{UriScheme}:{Kind.ToString().ToLowerInvariant()}:{Name}";

    public override string ToString() => Uri;

    /// <summary>The identity in <paramref name="certificate"/>'s SAN, or null when it has none (or more than one, which FedGrains never issues).</summary>
    public static CertificateIdentity? Of(X509Certificate2 certificate)
    {
        var found = Uris(certificate).Select(Parse).Where(i => i is not null).ToList();
        return found.Count == 1 ? found[0] : null;
    }

    /// <summary>
    /// The data site a silo's certificate was issued for (fedgrains:site:SITE), else null. A site silo takes its
    /// <c>fedgrains.site</c> metadata from here, so a silo cannot claim another site's data.
    /// </summary>
    public static string? SiteOf(X509Certificate2 certificate) =>
        Of(certificate) is { Kind: CertificateKind.Site, Name: var site } ? site : null;

    /// <summary>Parses fedgrains:KIND:NAME; null for any other URI.</summary>
    public static CertificateIdentity? Parse(string uri)
    {
        var parts = uri.Split(':', 3);
        if (parts.Length != 3 || parts[0] != UriScheme || !IsValidName(parts[2])) return null;
        return parts[1] switch
        {
            "silo" => new(CertificateKind.Silo, parts[2]),
            "site" => new(CertificateKind.Site, parts[2]),
            "client" => new(CertificateKind.Client, parts[2]),
            "redis" => new(CertificateKind.Redis, parts[2]),
            _ => null,
        };
    }

    /// <summary>Names are 1-64 of [A-Za-z0-9._-], as job and gateway ids: they end up in file names and metadata.</summary>
    public static bool IsValidName(string name) =>
        name.Length is >= 1 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-') && name.Trim('.').Length > 0;

    /// <summary>The URIs in the certificate's Subject Alternative Name extension.</summary>
    /// <remarks>.NET's X509SubjectAlternativeNameExtension enumerates DNS names and IP addresses only, so the
    /// GeneralNames sequence (RFC 5280 4.2.1.6; uniformResourceIdentifier is [6] IA5String) is read here.</remarks>
    private static List<string> Uris(X509Certificate2 certificate)
    {
        var uris = new List<string>();
        if (certificate.Extensions[SanOid] is not { } extension) return uris;
        try
        {
            var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
            var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
            while (reader.HasData)
            {
                if (reader.PeekTag() == uriTag) uris.Add(reader.ReadCharacterString(UniversalTagNumber.IA5String, uriTag));
                else reader.ReadEncodedValue();
            }
        }
        catch (AsnContentException)
        {
            // A malformed SAN names nobody.
            uris.Clear();
        }
        return uris;
    }

    private const string SanOid = "2.5.29.17";
}
