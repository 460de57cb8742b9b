using System.Security.Cryptography;
using System.Text;

namespace FedGrains.Learning.SecureAggregation;

/// <summary>X25519 key pairs and the HKDF-SHA256 keys SecAgg+ derives from them (Bell et al. 2020, section 3).</summary>
internal static class SecAggKeyAgreement
{
    public static X25519Key NewKeyPair() => X25519Key.Generate();

    /// <summary>A public key a neighbour can agree with: 32 bytes, not a low-order point (that would give it the all-zero secret).</summary>
    public static bool IsValidPublicKey(byte[]? publicKey) => publicKey is { Length: X25519Key.KeyBytes } && !X25519Key.IsLowOrder(publicKey);

    /// <summary>A key pair rebuilt from a recovered private key, if it is the one behind the advertised public key.</summary>
    /// <exception cref="CryptographicException">It is not.</exception>
    public static X25519Key FromPrivateKey(byte[] privateKey, byte[] publicKey)
    {
        var key = new X25519Key(privateKey);
        if (CryptographicOperations.FixedTimeEquals(key.PublicKey, publicKey)) return key;
        key.Dispose();
        throw new CryptographicException("the recovered private key does not belong to the advertised public key");
    }

    /// <summary>
    /// The 32-byte key gateways a (owning <paramref name="own"/>) and b share for <paramref name="purpose"/> in this
    /// round. The HKDF info binds the purpose, both indices, both public keys (lower index first) and the context.
    /// </summary>
    /// <exception cref="InvalidDataException">The other public key is malformed or a low-order point.</exception>
    public static byte[] Derive(X25519Key own, byte[] otherPublicKey, string purpose, byte[] context, int a, int b)
    {
        byte[] secret;
        try { secret = own.Agree(otherPublicKey); }
        catch (InvalidDataException e) { throw new InvalidDataException($"gateway {b}'s public key is refused: {e.Message}"); }
        var (first, second) = a < b ? (own.PublicKey, otherPublicKey) : (otherPublicKey, own.PublicKey);
        byte[] info = [.. Encoding.UTF8.GetBytes($"fedgrains-secagg/{purpose}/{Math.Min(a, b)}/{Math.Max(a, b)}/"), .. first, .. second, .. context];
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, salt: null, info);
        CryptographicOperations.ZeroMemory(secret);
        return key;
    }
}
