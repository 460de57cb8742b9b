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
}
