using System.Buffers.Binary;
using System.IO.Hashing;

namespace FedGrains.Learning.Codecs;

/// <summary>One tensor of a delta: its element count, and whether it is frozen (then omitted: its delta is zero).</summary>
public readonly record struct DeltaSegment(long Length, bool Frozen = false);

/// <summary>A decoded delta: its values, the model version and layout it was computed for.</summary>
public sealed record DecodedDelta(float[] Values, long ModelVersion, ulong LayoutHash);

/// <summary>
/// Deltas on the wire, tensor by tensor: raw float32 for small tensors, otherwise uniform quantization with stochastic
/// rounding (unbiased: E[decode] = value; error per value below one quantization step) or top-k / threshold
/// sparsification (indices + values). Header "FGC1", format version, model version, layout hash, segment table; a
/// CRC-32 over everything. Self-describing: the federation decodes without knowing the model.
/// </summary>
public static class DeltaCodec
{
    private const uint Magic = 0x31434746; // "FGC1"
    private const ushort FormatVersion = 1;
    private const byte Raw = 0, Quantized = 1, Sparse = 2, Omitted = 3;

    /// <param name="segments">Element counts of the model's tensors, in flat order (they must sum to the delta's length).</param>
    /// <param name="rounding">Draws the stochastic rounding; it only post-processes a released delta, so it need not be secret.</param>
    public static byte[] Encode(ReadOnlySpan<float> delta, IReadOnlyList<DeltaSegment> segments, CompressionSpec spec, long modelVersion, ulong layoutHash, Random rounding)
    {
        long covered = segments.Sum(s => s.Length);
        if (covered != delta.Length) throw new ArgumentException($"segments cover {covered} values but the delta has {delta.Length}.");
        using var stream = new MemoryStream(delta.Length + 64);
        using var w = new BinaryWriter(stream);
        w.Write(Magic);
        w.Write(FormatVersion);
        w.Write(modelVersion);
        w.Write(layoutHash);
        w.Write(segments.Count);
        int offset = 0;
        foreach (var (length, frozen) in segments)
        {
            var values = delta.Slice(offset, (int)length);
            offset += (int)length;
            w.Write(length);
            if (frozen) w.Write(Omitted);
            else if (spec.Kind == "none" || length < spec.MinSize) WriteRaw(w, values);
            else if (spec.Kind == "quantize") WriteQuantized(w, values, spec.Bits, rounding);
            else WriteSparse(w, values, spec);
        }
        w.Flush();
        var body = stream.ToArray();
        var output = new byte[body.Length + 4];
        body.CopyTo(output, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(output.AsSpan(body.Length), Crc32.HashToUInt32(body));
        return output;
    }

    /// <summary>Decodes and checks a delta; throws <see cref="InvalidDataException"/> saying what is wrong.</summary>
    public static DecodedDelta Decode(byte[] bytes)
    {
        if (bytes.Length < 30) throw new InvalidDataException($"delta of {bytes.Length} bytes is shorter than its header.");
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic) throw new InvalidDataException("not a FedGrains delta (bad magic).");
        if (Crc32.HashToUInt32(bytes.AsSpan(0, bytes.Length - 4)) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)))
            throw new InvalidDataException("delta checksum mismatch: the bytes were corrupted.");
        using var r = new BinaryReader(new MemoryStream(bytes, 0, bytes.Length - 4));
        r.ReadUInt32();
        if (r.ReadUInt16() != FormatVersion) throw new InvalidDataException("delta format version is not supported.");
        long version = r.ReadInt64();
        ulong layout = r.ReadUInt64();
        int count = r.ReadInt32();
        var parts = new List<float[]>(count);
        try
        {
            for (int s = 0; s < count; s++)
            {
                long length = r.ReadInt64();
                var values = new float[length];
                switch (r.ReadByte())
                {
                    case Raw:
                        for (long i = 0; i < length; i++) values[i] = r.ReadSingle();
                        break;
                    case Quantized:
                        ReadQuantized(r, values);
                        break;
                    case Omitted:
                        break;
                    case Sparse:
                        int kept = r.ReadInt32();
                        for (int k = 0; k < kept; k++)
                        {
                            int index = r.ReadInt32();
                            if ((uint)index >= length) throw new InvalidDataException($"sparse index {index} is outside its tensor of {length}.");
                            values[index] = r.ReadSingle();
                        }
                        break;
                    default:
                        throw new InvalidDataException("unknown segment encoding.");
                }
                parts.Add(values);
            }
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException("delta is truncated.");
        }
        return new DecodedDelta(parts.SelectMany(p => p).ToArray(), version, layout);
    }

    private static void WriteRaw(BinaryWriter w, ReadOnlySpan<float> values)
    {
        w.Write(Raw);
        foreach (var v in values) w.Write(v);
    }

    // Uniform quantization over [min, max] with 2^bits levels; stochastic rounding makes it unbiased.
    private static void WriteQuantized(BinaryWriter w, ReadOnlySpan<float> values, int bits, Random rounding)
    {
        float min = float.MaxValue, max = float.MinValue;
        foreach (var v in values) { if (v < min) min = v; if (v > max) max = v; }
        int levels = (1 << bits) - 1;
        double scale = max > min ? (max - min) / levels : 1;
        w.Write(Quantized);
        w.Write((byte)bits);
        w.Write(min);
        w.Write((float)scale);
        ulong buffer = 0;
        int filled = 0;
        foreach (var v in values)
        {
            double position = (v - min) / scale;
            ulong code = (ulong)Math.Min(levels, Math.Floor(position + rounding.NextDouble()));
            buffer |= code << filled;
            filled += bits;
            while (filled >= 8)
            {
                w.Write((byte)buffer);
                buffer >>= 8;
                filled -= 8;
            }
        }
        if (filled > 0) w.Write((byte)buffer);
    }

    private static void ReadQuantized(BinaryReader r, float[] values)
    {
        int bits = r.ReadByte();
        if (bits is < 1 or > 16) throw new InvalidDataException($"quantization with {bits} bits is not supported.");
        float min = r.ReadSingle();
        float scale = r.ReadSingle();
        ulong mask = (1UL << bits) - 1, buffer = 0;
        int filled = 0;
        for (int i = 0; i < values.Length; i++)
        {
            while (filled < bits)
            {
                buffer |= (ulong)r.ReadByte() << filled;
                filled += 8;
            }
            values[i] = min + (float)((buffer & mask) * (double)scale);
            buffer >>= bits;
            filled -= bits;
        }
    }

    private static void WriteSparse(BinaryWriter w, ReadOnlySpan<float> values, CompressionSpec spec)
    {
        IEnumerable<int> keep;
        var copy = values.ToArray();
        if (spec.Kind == "top_k")
        {
            int k = (int)Math.Ceiling(spec.TopKFraction * copy.Length);
            keep = Enumerable.Range(0, copy.Length).OrderByDescending(i => Math.Abs(copy[i])).ThenBy(i => i).Take(k).Order();
        }
        else keep = Enumerable.Range(0, copy.Length).Where(i => Math.Abs(copy[i]) >= spec.Threshold);
        var indices = keep.ToArray();
        w.Write(Sparse);
        w.Write(indices.Length);
        foreach (var i in indices)
        {
            w.Write(i);
            w.Write(copy[i]);
        }
    }
}
