using System.Security.Cryptography;

namespace FedGrains.Learning.Privacy;

/// <summary>
/// A <see cref="Random"/> whose every draw comes from the operating system's cryptographically secure generator,
/// for the integer samplers (stochastic rounding, discrete Gaussian) under privacy.secure_noise: xoshiro256**, behind
/// <c>new Random()</c>, is linear, so whoever saw enough of its outputs could rebuild its state and the noise. Written
/// here because .NET offers the secure generator only as bytes and integers in a range, not as a <see cref="Random"/>.
/// Draws come from a buffer refilled 4 KB at a time and wiped when used up or disposed.
/// </summary>
public sealed class SecureRandom : Random, IDisposable
{
    private readonly byte[] buffer = new byte[4096];
    private int used = 4096;

    private ulong NextBits()
    {
        if (used > buffer.Length - 8)
        {
            RandomNumberGenerator.Fill(buffer);
            used = 0;
        }
        ulong bits = BitConverter.ToUInt64(buffer, used);
        Array.Clear(buffer, used, 8);
        used += 8;
        return bits;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public override double NextDouble() => (NextBits() >> 11) * (1.0 / (1UL << 53));

    protected override double Sample() => NextDouble();

    public override float NextSingle() => (NextBits() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform in [0, maxValue), by rejection (no modulo bias).</summary>
    public override long NextInt64(long maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        if (maxValue <= 1) return 0;
        ulong range = (ulong)maxValue, limit = ulong.MaxValue - ulong.MaxValue % range;
        while (true)
        {
            ulong bits = NextBits();
            if (bits < limit) return (long)(bits % range);
        }
    }

    public override long NextInt64(long minValue, long maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        return minValue + NextInt64(maxValue - minValue);
    }

    public override long NextInt64() => NextInt64(long.MaxValue);

    public override int Next(int maxValue) => (int)NextInt64(maxValue);

    public override int Next(int minValue, int maxValue) => (int)NextInt64(minValue, maxValue);

    public override int Next() => (int)NextInt64(int.MaxValue);

    public override void NextBytes(byte[] bytes) => RandomNumberGenerator.Fill(bytes);

    public override void NextBytes(Span<byte> bytes) => RandomNumberGenerator.Fill(bytes);

    public void Dispose()
    {
        Array.Clear(buffer);
        used = buffer.Length; // a draw after this refills, never reads the cleared bytes
    }
}
