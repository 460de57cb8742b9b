using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace FedGrains.Learning.SecureAggregation;

/// <summary>An X25519 key pair (RFC 7748) for SecAgg+'s pairwise key agreements.</summary>
/// <remarks>
/// Bound to OpenSSL's libcrypto (the library .NET's own cryptography calls on Linux) by hand, because .NET 10 has no
/// X25519: <c>X25519DiffieHellman</c> comes with .NET 11 (dotnet/runtime#126206), and Microsoft.Bcl.Cryptography
/// 11.0.0 does not carry it for net10.0. The alternative, .NET's ECDiffieHellman on P-256, checks the peer's point on
/// every import and again on every agreement: 92 + 104 µs per neighbour key against 27 µs for OpenSSL's X25519
/// (`openssl speed ecdhx25519` on this machine), and at 1,000 gateways with 20 neighbours each those checks were most
/// of a secure round. X25519 needs no such check: any 32 bytes are a public key, and a low-order point (the only
/// bad ones) makes the shared secret all zero, which libcrypto refuses and so does <see cref="Agree"/>.
/// </remarks>
public sealed partial class X25519Key : IDisposable
{
    public const int KeyBytes = 32;
    private const string LibCrypto = "libcrypto.so.3";
    private const int NidX25519 = 1034; // EVP_PKEY_X25519

    private readonly SafeEvpPKey _key;

    /// <summary>The 32-byte public key (RFC 7748's u-coordinate).</summary>
    public byte[] PublicKey { get; }

    /// <summary>A fresh key pair from the OS's CSPRNG.</summary>
    public static X25519Key Generate()
    {
        var secret = RandomNumberGenerator.GetBytes(KeyBytes);
        try { return new X25519Key(secret); }
        finally { CryptographicOperations.ZeroMemory(secret); }
    }

    /// <summary>The key pair of a 32-byte private key (clamped by X25519 itself, RFC 7748 section 5).</summary>
    public X25519Key(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != KeyBytes) throw new ArgumentException($"an X25519 private key is {KeyBytes} bytes, got {privateKey.Length}");
        _key = EVP_PKEY_new_raw_private_key(NidX25519, IntPtr.Zero, privateKey, (nuint)KeyBytes);
        PublicKey = new byte[KeyBytes];
        nuint length = KeyBytes;
        if (_key.IsInvalid || EVP_PKEY_get_raw_public_key(_key, PublicKey, ref length) != 1 || length != KeyBytes)
        {
            Dispose();
            throw Failure("importing a private key");
        }
    }

    /// <summary>
    /// True for the encodings of Curve25519's points of small order (the agreement with them is all zero whatever the
    /// private key), compared with the unused top bit cleared: libsodium's list of the seven (u = 0, 1, the two points
    /// of order 8, p - 1, p, p + 1). Lets the federation refuse such a key without an agreement of its own.
    /// </summary>
    public static bool IsLowOrder(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != KeyBytes) return false;
        Span<byte> u = stackalloc byte[KeyBytes];
        publicKey.CopyTo(u);
        u[^1] &= 0x7f;
        foreach (var point in LowOrderPoints) if (u.SequenceEqual(point)) return true;
        return false;
    }

    private static readonly byte[][] LowOrderPoints =
    [
        .. new[]
        {
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0100000000000000000000000000000000000000000000000000000000000000",
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        }.Select(Convert.FromHexString),
    ];

    /// <summary>The 32-byte shared secret with <paramref name="peerPublicKey"/> (not yet a key: run it through a KDF).</summary>
    /// <exception cref="InvalidDataException">The peer key is not 32 bytes, or is a low-order point (all-zero secret).</exception>
    public byte[] Agree(ReadOnlySpan<byte> peerPublicKey)
    {
        if (peerPublicKey.Length != KeyBytes) throw new InvalidDataException($"an X25519 public key is {KeyBytes} bytes, got {peerPublicKey.Length}");
        using var peer = Checked(EVP_PKEY_new_raw_public_key(NidX25519, IntPtr.Zero, peerPublicKey, (nuint)KeyBytes), "importing a public key");
        using var context = EVP_PKEY_CTX_new(_key, IntPtr.Zero);
        if (context.IsInvalid) throw Failure("starting an agreement");
        var secret = new byte[KeyBytes];
        nuint length = KeyBytes;
        if (EVP_PKEY_derive_init(context) != 1 || EVP_PKEY_derive_set_peer(context, peer) != 1 || EVP_PKEY_derive(context, secret, ref length) != 1 || length != KeyBytes)
        {
            ERR_clear_error(); // leave no error behind for .NET's own OpenSSL calls on this thread
            throw new InvalidDataException("the X25519 public key is a low-order point (the shared secret would be all zero)");
        }
        // libcrypto refuses the all-zero secret itself (RFC 7748 section 6.1); checked here too, in constant time, so
        // no provider can let one through.
        if (CryptographicOperations.FixedTimeEquals(secret, new byte[KeyBytes]))
            throw new InvalidDataException("the X25519 public key is a low-order point (the shared secret would be all zero)");
        return secret;
    }

    public void Dispose() => _key.Dispose();

    private static SafeEvpPKey Checked(SafeEvpPKey key, string what) => key.IsInvalid ? throw Failure(what) : key;

    private static CryptographicException Failure(string what)
    {
        ERR_clear_error();
        return new CryptographicException($"OpenSSL's X25519 failed {what}");
    }

    private sealed class SafeEvpPKey() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
    {
        protected override bool ReleaseHandle() { EVP_PKEY_free(handle); return true; }
    }

    private sealed class SafeEvpPKeyContext() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
    {
        protected override bool ReleaseHandle() { EVP_PKEY_CTX_free(handle); return true; }
    }

    [LibraryImport(LibCrypto)]
    private static partial SafeEvpPKey EVP_PKEY_new_raw_private_key(int type, IntPtr engine, ReadOnlySpan<byte> key, nuint length);

    [LibraryImport(LibCrypto)]
    private static partial SafeEvpPKey EVP_PKEY_new_raw_public_key(int type, IntPtr engine, ReadOnlySpan<byte> key, nuint length);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_get_raw_public_key(SafeEvpPKey key, Span<byte> publicKey, ref nuint length);

    [LibraryImport(LibCrypto)]
    private static partial void EVP_PKEY_free(IntPtr key);

    [LibraryImport(LibCrypto)]
    private static partial SafeEvpPKeyContext EVP_PKEY_CTX_new(SafeEvpPKey key, IntPtr engine);

    [LibraryImport(LibCrypto)]
    private static partial void EVP_PKEY_CTX_free(IntPtr context);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_derive_init(SafeEvpPKeyContext context);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_derive_set_peer(SafeEvpPKeyContext context, SafeEvpPKey peer);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_derive(SafeEvpPKeyContext context, Span<byte> secret, ref nuint length);

    [LibraryImport(LibCrypto)]
    private static partial void ERR_clear_error();
}
