using System.Security.Cryptography;
using System.Text;

namespace FedGrains.Learning.SecureAggregation;

/// <summary>X25519 key pairs and the HKDF-SHA256 keys SecAgg+ derives from them (Bell et al. 2020, section 3).</summary>
internal static class SecAggKeyAgreement
{
    public static X25519Key NewKeyPair() => X25519Key.Generate();

    /// <summary>A public key a neighbour can agree with: 32 bytes, not a low-order point (that would give it the all-zero secret).</summary>
    public static bool IsValidPublicKey(byte[]? publicKey) => publicKey is { Length: X25519Key.KeyBytes } && !X25519Key.IsLowOrder(publicKey);

    /// <summary>
    /// The mask key pair of a 16-byte Shamir secret (its X25519 private key is HKDF-SHA256 of it): the secret, not
    /// the 32-byte private key, is what is shared, so every share stays one 16-byte field element.
    /// </summary>
    public static X25519Key MaskKeyPair(ReadOnlySpan<byte> secret)
    {
        var privateKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret.ToArray(), X25519Key.KeyBytes, salt: null, "fedgrains-secagg/mask-key"u8.ToArray());
        try { return new X25519Key(privateKey); }
        finally { CryptographicOperations.ZeroMemory(privateKey); }
    }

    /// <summary>The mask key pair rebuilt from a recovered secret, if it is the one behind the advertised public key.</summary>
    /// <exception cref="CryptographicException">It is not.</exception>
    public static X25519Key MaskKeyPair(byte[] secret, byte[] publicKey)
    {
        var key = MaskKeyPair(secret);
        if (CryptographicOperations.FixedTimeEquals(key.PublicKey, publicKey)) return key;
        key.Dispose();
        throw new CryptographicException("the recovered secret does not give the advertised public key");
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
