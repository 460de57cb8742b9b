using System.Numerics;
using System.Security.Cryptography;

namespace FedGrains.Learning.SecureAggregation;

/// <summary>One Shamir share: the evaluation point (a gateway's 1-based cohort index) and the polynomial's value there.</summary>
public sealed record ShamirShare(int X, byte[] Y);

/// <summary>
/// t-of-n Shamir secret sharing (Shamir 1979) of a secret of up to 64 bytes over the prime field GF(2^521 - 1).
/// </summary>
/// <remarks>
/// Written by hand because .NET has no secret sharing and the field arithmetic is a few lines over BigInteger. The
/// secret is the constant term of a random polynomial of degree t - 1; any t shares recover it by Lagrange
/// interpolation at 0, and t - 1 shares are uniformly distributed whatever the secret (perfect secrecy). The Mersenne
/// prime 2^521 - 1 is larger than every 64-byte secret, so a secret is one field element.
/// </remarks>
public static class ShamirSharing
{
    /// <summary>The largest secret, in bytes.</summary>
    public const int MaxSecretBytes = 64;

    internal const int FieldBytes = 66;
    private static readonly BigInteger Prime = BigInteger.Pow(2, 521) - 1;

    /// <summary>Shares <paramref name="secret"/> so that any <paramref name="threshold"/> of the shares at <paramref name="points"/> recover it.</summary>
    public static ShamirShare[] Split(ReadOnlySpan<byte> secret, int threshold, IReadOnlyList<int> points)
    {
        if (secret.Length > MaxSecretBytes) throw new ArgumentException($"a Shamir secret holds at most {MaxSecretBytes} bytes, got {secret.Length}");
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

    /// <summary>Recovers a secret of <paramref name="secretBytes"/> bytes from at least <paramref name="threshold"/> distinct shares.</summary>
    /// <exception cref="ArgumentException">Too few shares, shares that repeat a point, or malformed ones.</exception>
    public static byte[] Combine(IReadOnlyList<ShamirShare> shares, int secretBytes, int threshold = 1)
    {
        if (shares.Count == 0 || shares.Count < threshold) throw new ArgumentException($"{shares.Count} shares to combine, fewer than the threshold {threshold}");
        if (shares.Select(s => s.X).Distinct().Count() != shares.Count) throw new ArgumentException("shares repeat a point");
        if (shares.Any(s => s.X < 1 || s.Y is not { Length: FieldBytes } || new BigInteger(s.Y, isUnsigned: true, isBigEndian: true) >= Prime))
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
        BigInteger secret = sumNumerator * Inverse(sumDenominator) % Prime;
        var bytes = secret.ToByteArray(isUnsigned: true, isBigEndian: true);
        if (bytes.Length > secretBytes) throw new ArgumentException("the shares do not combine to a secret of this size (too few or altered shares)");
        var result = new byte[secretBytes];
        bytes.CopyTo(result, secretBytes - bytes.Length);
        return result;
    }

    private static BigInteger Mod(BigInteger v) => ((v % Prime) + Prime) % Prime;

    /// <summary>
    /// a^-1 mod the prime by the extended Euclidean algorithm: about 300 divisions of shrinking numbers, 5x faster
    /// than Fermat's a^(p-2) by BigInteger.ModPow (685 µs), which was most of the federation's unmasking.
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
        Span<byte> bytes = stackalloc byte[FieldBytes];
        while (true)
        {
            RandomNumberGenerator.Fill(bytes);
            bytes[0] &= 0x01; // 521 bits = 1 + 65 * 8
            var v = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
            if (v < Prime) return v;
        }
    }

    private static byte[] ToBytes(BigInteger v)
    {
        var bytes = v.ToByteArray(isUnsigned: true, isBigEndian: true);
        var result = new byte[FieldBytes];
        bytes.CopyTo(result, FieldBytes - bytes.Length);
        return result;
    }
}
