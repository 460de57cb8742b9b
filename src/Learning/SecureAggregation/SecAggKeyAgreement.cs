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

    /// <summary>The 32-byte key gateways a and b share for <paramref name="purpose"/> in this round.</summary>
    public static byte[] Derive(ECDiffieHellman own, byte[] otherPublicKey, string purpose, byte[] context, int a, int b)
    {
        using var other = ECDiffieHellman.Create();
        try { other.ImportSubjectPublicKeyInfo(otherPublicKey, out _); }
        catch (CryptographicException e) { throw new InvalidDataException($"gateway {b}'s public key is not a P-256 key: {e.Message}"); }
        var secret = own.DeriveRawSecretAgreement(other.PublicKey);
        var info = Encoding.UTF8.GetBytes($"fedgrains-secagg/{purpose}/{Math.Min(a, b)}/{Math.Max(a, b)}/").Concat(context).ToArray();
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, salt: null, info);
        CryptographicOperations.ZeroMemory(secret);
        return key;
    }
}
