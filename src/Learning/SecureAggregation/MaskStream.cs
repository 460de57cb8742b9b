using System.Buffers.Binary;
using System.Security.Cryptography;

namespace FedGrains.Learning.SecureAggregation;

/// <summary>Expands a 16- or 32-byte seed into a pseudorandom mask of values uniform mod 2^bits (AES-128 or AES-256 in counter mode).</summary>
/// <remarks>
/// .NET has no AES-CTR type; counter mode is AES-ECB over consecutive counter blocks, which <see cref="Aes.EncryptEcb(ReadOnlySpan{byte}, PaddingMode)"/>
/// does in one call. Each 16-byte block gives four 32-bit words; keeping the low <c>bits</c> bits of a uniform word is
/// uniform mod 2^bits because 2^bits divides 2^32 (Bell et al. 2020 use the same PRG-from-seed construction).
/// </remarks>
public static class MaskStream
{
    /// <summary>The mask for <paramref name="length"/> values mod 2^<paramref name="bits"/>.</summary>
    public static uint[] Expand(ReadOnlySpan<byte> seed, int length, int bits)
    {
        if (seed.Length is not (16 or 32)) throw new ArgumentException($"a mask seed is 16 or 32 bytes, got {seed.Length}");
        var mask = new uint[length];
        int blocks = (length + 3) / 4;
        var counters = new byte[blocks * 16];
        for (int b = 0; b < blocks; b++) BinaryPrimitives.WriteInt64BigEndian(counters.AsSpan(b * 16 + 8), b);
        using var aes = Aes.Create();
        aes.Key = seed.ToArray();
        var stream = aes.EncryptEcb(counters, PaddingMode.None);
        uint keep = ModularArithmetic.Mask(bits);
        for (int i = 0; i < length; i++) mask[i] = BinaryPrimitives.ReadUInt32LittleEndian(stream.AsSpan(i * 4)) & keep;
        CryptographicOperations.ZeroMemory(stream);
        return mask;
    }
}
