using System.Numerics;
using System.Security.Cryptography;

namespace FedGrains.Learning.SecureAggregation;

/// <summary>One Shamir share: the evaluation point (a gateway's 1-based cohort index) and the polynomial's value there.</summary>
public sealed record ShamirShare(int X, byte[] Y);

/// <summary>
/// t-of-n Shamir secret sharing (Shamir 1979) of 16-byte secrets over the prime field GF(2^127 - 1).
/// </summary>
/// <remarks>
/// Written by hand because .NET has no secret sharing and the field arithmetic is a few lines over BigInteger. The
/// secret is the constant term of a random polynomial of degree t - 1; any t shares recover it by Lagrange
/// interpolation at 0, and t - 1 shares are uniformly distributed whatever the secret (perfect secrecy).
/// The Mersenne prime 2^127 - 1 keeps a share at 16 bytes. SecAgg+ sends two shares to every neighbour and returns
/// one per neighbour when unmasking, so the share size is most of its upload beyond the masked vector: over
/// GF(2^521 - 1) a gateway uploaded 1.2x the bare 20-bit vector of 10,000 values, over this field 1.06x. A secret is
/// therefore a field element of 127 bits (<see cref="NewSecret"/>), and SecAgg+ derives its keys from it by HKDF.
/// </remarks>
public static class ShamirSharing
{
    /// <summary>The size of a secret and of a share's value.</summary>
    public const int SecretBytes = 16;

    private static readonly BigInteger Prime = BigInteger.Pow(2, 127) - 1;

    /// <summary>A fresh secret from the OS's CSPRNG: uniform over the field (127 bits).</summary>
    public static byte[] NewSecret() => ToBytes(RandomElement());

    /// <summary>Shares <paramref name="secret"/> so that any <paramref name="threshold"/> of the shares at <paramref name="points"/> recover it.</summary>
    public static ShamirShare[] Split(ReadOnlySpan<byte> secret, int threshold, IReadOnlyList<int> points)
    {
        if (secret.Length != SecretBytes || !InField(secret))
            throw new ArgumentException($"a Shamir secret is {SecretBytes} bytes below 2^127 - 1 (make one with NewSecret), got {secret.Length} bytes");
        if (threshold < 1 || threshold > points.Count)
            throw new ArgumentException($"threshold {threshold} must be between 1 and the number of shares ({points.Count})");
        if (points.Any(x => x < 1) || points.Distinct().Count() != points.Count)
            throw new ArgumentException("share points must be distinct and positive");
        var coefficients = new BigInteger[threshold];
        coefficients[0] = new BigInteger(secret, isUnsigned: true, isBigEndian: true);
        for (int i = 1; i < threshold; i++) coefficients[i] = RandomElement();
        var shares = new ShamirShare[points.Count];
        for (int s = 0; s < points.Count; s++)
        {
            BigInteger x = points[s], y = BigInteger.Zero;
            for (int i = threshold - 1; i >= 0; i--) y = (y * x + coefficients[i]) % Prime; // Horner
            shares[s] = new ShamirShare(points[s], ToBytes(y));
        }
        return shares;
    }

    /// <summary>
    /// Recovers the secret from at least <paramref name="threshold"/> distinct shares. Altered shares, or too few of
    /// an unknown threshold, give another field element: callers check it against a commitment.
    /// </summary>
    /// <exception cref="ArgumentException">Too few shares, shares that repeat a point, or malformed ones.</exception>
    public static byte[] Combine(IReadOnlyList<ShamirShare> shares, int threshold = 1)
    {
        if (shares.Count == 0 || shares.Count < threshold) throw new ArgumentException($"{shares.Count} shares to combine, fewer than the threshold {threshold}");
        if (shares.Select(s => s.X).Distinct().Count() != shares.Count) throw new ArgumentException("shares repeat a point");
        if (shares.Any(s => s.X < 1 || s.Y is not { Length: SecretBytes } || !InField(s.Y)))
            throw new ArgumentException("a share is malformed (not a point of the field)");
        // Lagrange at 0 as one fraction N / D, so that a single modular inversion serves all shares.
        BigInteger sumNumerator = BigInteger.Zero, sumDenominator = BigInteger.One;
        for (int i = 0; i < shares.Count; i++)
        {
            BigInteger xi = shares[i].X, numerator = BigInteger.One, denominator = BigInteger.One;
            for (int j = 0; j < shares.Count; j++)
            {
                if (i == j) continue;
                BigInteger xj = shares[j].X;
                numerator = numerator * xj % Prime;               // prod (0 - xj), sign folded into the denominator
                denominator = denominator * Mod(xj - xi) % Prime; // prod (xi - xj) with the same sign flipped
            }
            var term = new BigInteger(shares[i].Y, isUnsigned: true, isBigEndian: true) * numerator % Prime;
            sumNumerator = (sumNumerator * denominator + term * sumDenominator) % Prime;
            sumDenominator = sumDenominator * denominator % Prime;
        }
        return ToBytes(sumNumerator * Inverse(sumDenominator) % Prime);
    }

    public static bool InField(ReadOnlySpan<byte> value) => new BigInteger(value, isUnsigned: true, isBigEndian: true) < Prime;

    private static BigInteger Mod(BigInteger v) => ((v % Prime) + Prime) % Prime;

    /// <summary>
    /// a^-1 mod the prime by the extended Euclidean algorithm: measured over GF(2^521 - 1), about 300 divisions of
    /// shrinking numbers were 5x faster than Fermat's a^(p-2) by BigInteger.ModPow, then most of the federation's unmasking.
    /// </summary>
    internal static BigInteger Inverse(BigInteger a)
    {
        BigInteger r0 = Prime, r1 = Mod(a), s0 = BigInteger.Zero, s1 = BigInteger.One;
        if (r1.IsZero) throw new ArgumentException("zero has no inverse");
        while (!r1.IsZero)
        {
            var q = BigInteger.DivRem(r0, r1, out var r2);
            (r0, r1) = (r1, r2);
            (s0, s1) = (s1, s0 - q * s1);
        }
        return Mod(s0); // r0 = gcd = 1, as the modulus is prime
    }

    private static BigInteger RandomElement()
    {
        Span<byte> bytes = stackalloc byte[SecretBytes];
        while (true)
        {
            RandomNumberGenerator.Fill(bytes);
            bytes[0] &= 0x7f; // 127 bits; only p itself is then out of the field
            var v = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
            if (v < Prime) return v;
        }
    }

    private static byte[] ToBytes(BigInteger v)
    {
        var bytes = v.ToByteArray(isUnsigned: true, isBigEndian: true);
        var result = new byte[SecretBytes];
        bytes.CopyTo(result, SecretBytes - bytes.Length);
        return result;
    }
}
