using System.Security.Cryptography;

namespace FedGrains.Learning.Privacy;

/// <summary>
/// Gaussian noise from the operating system's cryptographically secure generator, for deployments where an adversary
/// might predict or reconstruct a seeded PRNG's stream (Opacus' "secure mode" plays the same role).
/// </summary>
/// <remarks>
/// Uniforms take 53 random bits each; Box-Muller turns pairs of them into Gaussians. Each output is the sum of two
/// such Gaussians scaled by 1/sqrt(2): as in Opacus' secure mode, summing draws blurs the low-order bits that leak
/// the sample in a naive floating-point Gaussian (Mironov 2012, "On significance of the least significant bits for
/// differential privacy"). This is a mitigation, not a proof; it costs several times the fast generator.
/// </remarks>
public static class SecureGaussian
{
    private const double Inv53 = 1.0 / (1UL << 53);

    /// <summary>Fills <paramref name="destination"/> with N(0, std^2) samples.</summary>
    public static void Fill(Span<float> destination, double std)
    {
        int words = 4 * ((destination.Length + 1) / 2);
        var rented = System.Buffers.ArrayPool<ulong>.Shared.Rent(words);
        try
        {
            var bits = rented.AsSpan(0, words);
            RandomNumberGenerator.Fill(System.Runtime.InteropServices.MemoryMarshal.AsBytes(bits));
            Transform(bits, destination, std / Math.Sqrt(2));
        }
        finally
        {
            // The bits determine the noise: wipe them so nothing later can read them from the pool.
            System.Buffers.ArrayPool<ulong>.Shared.Return(rented, clearArray: true);
        }
    }

    private static void Transform(ReadOnlySpan<ulong> bits, Span<float> destination, double scale)
    {
        for (int i = 0, b = 0; i < destination.Length; i += 2, b += 4)
        {
            var (a0, a1) = BoxMuller(bits[b], bits[b + 1]);
            var (c0, c1) = BoxMuller(bits[b + 2], bits[b + 3]);
            destination[i] = (float)((a0 + c0) * scale);
            if (i + 1 < destination.Length) destination[i + 1] = (float)((a1 + c1) * scale);
        }
    }

    private static (double, double) BoxMuller(ulong u, ulong v)
    {
        double u1 = ((u >> 11) + 1) * Inv53; // in (0, 1]: the log stays finite
        double u2 = (v >> 11) * Inv53;
        double r = Math.Sqrt(-2 * Math.Log(u1));
        var (sin, cos) = Math.SinCos(2 * Math.PI * u2);
        return (r * cos, r * sin);
    }
}
