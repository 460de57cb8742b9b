using System.Security.Cryptography;
using System.Text;

namespace FedGrains.Learning.SecureAggregation;

/// <summary>ECDH P-256 key pairs and the HKDF-SHA256 keys SecAgg+ derives from them (Bell et al. 2020, section 3).</summary>
internal static class SecAggKeyAgreement
{
    public static ECDiffieHellman NewKeyPair() => ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    public static byte[] PublicKey(ECDiffieHellman key) => key.ExportSubjectPublicKeyInfo();

    /// <summary>The private scalar, to be Shamir-shared.</summary>
    public static byte[] PrivateScalar(ECDiffieHellman key) => key.ExportParameters(includePrivateParameters: true).D!;

    /// <summary>
    /// The public key, if it is exactly one DER SubjectPublicKeyInfo of a point on P-256 (named curve, nothing after
    /// it); else <see cref="InvalidDataException"/>. Points off the curve are refused by the import itself.
    /// </summary>
    public static ECDiffieHellman ImportPublicKey(byte[] spki, int owner)
    {
        var key = ECDiffieHellman.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(spki, out int read);
            var curve = key.ExportParameters(false).Curve;
            if (read != spki.Length || !curve.IsNamed || curve.Oid.Value != P256Oid || key.KeySize != 256)
                throw new CryptographicException("not exactly one named P-256 key");
            return key;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            key.Dispose();
            throw new InvalidDataException($"gateway {owner}'s public key is not a P-256 key: {e.Message}");
        }
    }

    private const string P256Oid = "1.2.840.10045.3.1.7";

    /// <summary>A key pair rebuilt from a recovered private scalar and the public key it advertised.</summary>
    public static ECDiffieHellman FromScalar(byte[] scalar, byte[] publicKey)
    {
        using var pub = ECDiffieHellman.Create();
        pub.ImportSubjectPublicKeyInfo(publicKey, out _);
        var parameters = pub.ExportParameters(false);
        parameters.D = scalar;
        var key = ECDiffieHellman.Create();
        key.ImportParameters(parameters); // checks that D matches Q
        return key;
    }

    /// <summary>
    /// The 32-byte key gateways a (owning <paramref name="own"/>) and b share for <paramref name="purpose"/> in this
    /// round. The HKDF info binds the purpose, both indices, both public keys (lower index first) and the context.
    /// </summary>
    public static byte[] Derive(ECDiffieHellman own, byte[] otherPublicKey, string purpose, byte[] context, int a, int b)
    {
        using var other = ImportPublicKey(otherPublicKey, b);
        var secret = own.DeriveRawSecretAgreement(other.PublicKey);
        var (first, second) = a < b ? (own.ExportSubjectPublicKeyInfo(), otherPublicKey) : (otherPublicKey, own.ExportSubjectPublicKeyInfo());
        var info = Encoding.UTF8.GetBytes($"fedgrains-secagg/{purpose}/{Math.Min(a, b)}/{Math.Max(a, b)}/").Concat(first).Concat(second).Concat(context).ToArray();
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, salt: null, info);
        CryptographicOperations.ZeroMemory(secret);
        return key;
    }
}
