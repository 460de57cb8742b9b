using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FedGrains.Learning.Privacy;

/// <summary>
/// The default DP noise source: Gaussian floats from four interleaved xoshiro256++ streams (Blackman and Vigna 2021)
/// turned into normals by a vectorised Box-Muller transform, 16 values per iteration. Faster than libtorch's normal_
/// on this CPU (a serial Mersenne Twister), which made the noise cost more than half a non-private MLP step.
/// </summary>
/// <remarks>
/// Each lane's 256-bit state is filled by SplitMix64 from one 64-bit seed, which callers draw from the OS's secure
/// generator (tests pass a fixed seed). The radius uses 31 random bits, u1 in [2^-32, 1), so the tails reach 6.66
/// sigma; libtorch's float path (24 bits) stops at 5.8 sigma. Like libtorch's, this generator is fast, not
/// cryptographic: use <see cref="SecureGaussian"/> (privacy.secure_noise) when the stream must be unpredictable.
/// </remarks>
public sealed class FastGaussian
{
    private Vector256<ulong> s0, s1, s2, s3;

    public FastGaussian(ulong seed)
    {
        Span<ulong> state = stackalloc ulong[16];
        for (int i = 0; i < state.Length; i++) state[i] = SplitMix64(ref seed);
        s0 = Vector256.Create(state[0], state[1], state[2], state[3]);
        s1 = Vector256.Create(state[4], state[5], state[6], state[7]);
        s2 = Vector256.Create(state[8], state[9], state[10], state[11]);
        s3 = Vector256.Create(state[12], state[13], state[14], state[15]);
    }

    /// <summary>
    /// <paramref name="count"/> independent generators from one seed, for filling disjoint parts of a buffer on
    /// several threads: each gets its own SplitMix64 output as seed.
    /// </summary>
    public static FastGaussian[] Streams(ulong seed, int count)
    {
        var streams = new FastGaussian[count];
        for (int k = 0; k < count; k++) streams[k] = new FastGaussian(SplitMix64(ref seed));
        return streams;
    }

    /// <summary>Fills <paramref name="destination"/> with independent N(0, std^2) samples.</summary>
    public void Fill(Span<float> destination, float std)
    {
        var scale = Vector256.Create(std);
        var radiusScale = Vector256.Create(1f / (1u << 31));
        var halfStep = Vector256.Create(0.5f / (1u << 31));
        var minusTwo = Vector256.Create(-2f);
        var angleScale = Vector256.Create(MathF.PI / 2 / (1 << 24));
        var angleOffset = Vector256.Create(MathF.PI / 2 / (1 << 25) - MathF.PI / 4);
        ref float start = ref MemoryMarshal.GetReference(destination);
        var (a0, a1, a2, a3) = (s0, s1, s2, s3);
        Span<float> tail = stackalloc float[16];
        for (int i = 0; i < destination.Length; i += 16)
        {
            var a = Next(ref a0, ref a1, ref a2, ref a3).AsUInt32();
            var b = Next(ref a0, ref a1, ref a2, ref a3).AsUInt32();
            // Radius sqrt(-2 ln u1), u1 in (0, 1) from 31 bits so the log stays finite.
            var u1 = Vector256.ConvertToSingle(Vector256.ShiftRightLogical(a, 1).AsInt32()) * radiusScale + halfStep;
            var radius = Vector256.Sqrt(minusTwo * Log(u1)) * scale;
            // Angle: a uniform quadrant (top 2 bits) plus a uniform offset in [-pi/4, pi/4) (next 24 bits), which is
            // uniform on the circle and lets short polynomials replace a general sine and cosine.
            var offset = Vector256.ConvertToSingle((Vector256.ShiftRightLogical(b, 6) & Vector256.Create(0xFFFFFFu)).AsInt32()) * angleScale + angleOffset;
            var (sin, cos) = QuarterSinCos(offset);
            var quadrant = Vector256.ShiftRightLogical(b, 30);
            var swap = Vector256.Equals(quadrant & Vector256<uint>.One, Vector256<uint>.One).AsSingle();
            // Rotating (cos, sin) by q quarter turns: swap for odd q, then flip the signs the quadrant needs.
            var x = Vector256.ConditionalSelect(swap, sin, cos);
            var y = Vector256.ConditionalSelect(swap, cos, sin);
            x ^= Vector256.ShiftLeft((quadrant + Vector256<uint>.One) & Vector256.Create(2u), 30).AsSingle();
            y ^= Vector256.ShiftLeft(quadrant & Vector256.Create(2u), 30).AsSingle();
            if (destination.Length - i >= 16)
            {
                (radius * x).StoreUnsafe(ref start, (nuint)i);
                (radius * y).StoreUnsafe(ref start, (nuint)(i + 8));
            }
            else
            {
                (radius * x).CopyTo(tail);
                (radius * y).CopyTo(tail[8..]);
                tail[..(destination.Length - i)].CopyTo(destination[i..]);
            }
        }
        (s0, s1, s2, s3) = (a0, a1, a2, a3);
    }

    // Natural log of normal positive floats by the Cephes logf reduction and polynomial (relative error ~1e-7); about
    // 3x faster than Vector256.Log here.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Log(Vector256<float> u)
    {
        var bits = u.AsUInt32();
        // u = m 2^e with m in [0.5, 1); below sqrt(1/2), use 2m and e - 1 so that x = m - 1 stays in [-0.29, 0.41].
        var e = Vector256.ConvertToSingle((Vector256.ShiftRightLogical(bits, 23) - Vector256.Create(126u)).AsInt32());
        var m = ((bits & Vector256.Create(0x007FFFFFu)) | Vector256.Create(0x3F000000u)).AsSingle();
        var small = Vector256.LessThan(m, Vector256.Create(0.707106781186547524f));
        e -= small & Vector256<float>.One;
        var x = m - Vector256<float>.One + (small & m);
        var z = x * x;
        var p = Vector256.Create(7.0376836292e-2f);
        p = p * x + Vector256.Create(-1.1514610310e-1f);
        p = p * x + Vector256.Create(1.1676998740e-1f);
        p = p * x + Vector256.Create(-1.2420140846e-1f);
        p = p * x + Vector256.Create(1.4249322787e-1f);
        p = p * x + Vector256.Create(-1.6668057665e-1f);
        p = p * x + Vector256.Create(2.0000714765e-1f);
        p = p * x + Vector256.Create(-2.4999993993e-1f);
        p = p * x + Vector256.Create(3.3333331174e-1f);
        var y = p * x * z + e * Vector256.Create(-2.12194440e-4f) - Vector256.Create(0.5f) * z;
        return x + y + e * Vector256.Create(0.693359375f);
    }

    // sin and cos on [-pi/4, pi/4] by the Cephes sinf/cosf polynomials (error below 1e-7, float's own precision).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector256<float> Sin, Vector256<float> Cos) QuarterSinCos(Vector256<float> x)
    {
        var z = x * x;
        var sin = ((Vector256.Create(-1.9515295891e-4f) * z + Vector256.Create(8.3321608736e-3f)) * z + Vector256.Create(-1.6666654611e-1f)) * z * x + x;
        var cos = ((Vector256.Create(2.443315711809948e-5f) * z + Vector256.Create(-1.388731625493765e-3f)) * z + Vector256.Create(4.166664568298827e-2f)) * z * z
            - Vector256.Create(0.5f) * z + Vector256<float>.One;
        return (sin, cos);
    }

    // xoshiro256++ on four lanes at once: result = rotl(s0 + s3, 23) + s0. The state lives in locals during a fill.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> Next(ref Vector256<ulong> s0, ref Vector256<ulong> s1, ref Vector256<ulong> s2, ref Vector256<ulong> s3)
    {
        var result = RotateLeft(s0 + s3, 23) + s0;
        var t = Vector256.ShiftLeft(s1, 17);
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = RotateLeft(s3, 45);
        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> RotateLeft(Vector256<ulong> x, int k) =>
        Vector256.ShiftLeft(x, k) | Vector256.ShiftRightLogical(x, 64 - k);

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
