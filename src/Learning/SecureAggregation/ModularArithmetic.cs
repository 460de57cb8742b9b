namespace FedGrains.Learning.SecureAggregation;

/// <summary>Vector arithmetic mod 2^bits on uint words (bits 1..32).</summary>
public static class ModularArithmetic
{
    /// <summary>2^bits - 1, the mask that reduces a word mod 2^bits.</summary>
    public static uint Mask(int bits)
    {
        if (bits < 1 || bits > 32) throw new ArgumentOutOfRangeException(nameof(bits), bits, "bits must be between 1 and 32");
        return bits == 32 ? uint.MaxValue : (1u << bits) - 1;
    }

    /// <summary>target += sign * values (mod 2^bits).</summary>
    public static void AddInPlace(uint[] target, ReadOnlySpan<uint> values, int bits, bool subtract = false)
    {
        if (values.Length != target.Length) throw new ArgumentException($"vector of {values.Length} values where {target.Length} were expected");
        uint keep = Mask(bits);
        if (subtract) for (int i = 0; i < target.Length; i++) target[i] = (target[i] - values[i]) & keep;
        else for (int i = 0; i < target.Length; i++) target[i] = (target[i] + values[i]) & keep;
    }

    /// <summary>The values (each below 2^bits) packed bits by bits, little-endian, for the wire: ceil(n bits / 8) bytes.</summary>
    public static byte[] Pack(ReadOnlySpan<uint> values, int bits)
    {
        uint keep = Mask(bits);
        var packed = new byte[(int)(((long)values.Length * bits + 7) / 8)];
        ulong buffer = 0;
        int held = 0, at = 0;
        foreach (uint v in values)
        {
            buffer |= (ulong)(v & keep) << held;
            for (held += bits; held >= 8; held -= 8, buffer >>= 8) packed[at++] = (byte)buffer;
        }
        if (held > 0) packed[at] = (byte)buffer;
        return packed;
    }

    /// <summary>The inverse of <see cref="Pack"/>; <see cref="InvalidDataException"/> when the bytes are not <paramref name="count"/> packed values.</summary>
    public static uint[] Unpack(ReadOnlySpan<byte> packed, int count, int bits)
    {
        uint keep = Mask(bits);
        if (packed.Length != ((long)count * bits + 7) / 8)
            throw new InvalidDataException($"{packed.Length} bytes are not {count} values of {bits} bits");
        var values = new uint[count];
        ulong buffer = 0;
        int held = 0, at = 0;
        for (int i = 0; i < count; i++)
        {
            for (; held < bits; held += 8) buffer |= (ulong)packed[at++] << held;
            values[i] = (uint)buffer & keep;
            buffer >>= bits;
            held -= bits;
        }
        return values;
    }
}
