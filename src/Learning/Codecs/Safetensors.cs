using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using System.Text.Json;
using System.Text;

namespace FedGrains.Learning.Codecs;

/// <summary>One named float32 tensor of a flat weight array.</summary>
public sealed record NamedTensor(string Name, long[] Shape);

/// <summary>
/// Writes weights in the safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw little-endian data.
/// PyTorch loads it with <c>safetensors.torch.load_file</c>; parameter names match the TorchSharp module's.
/// </summary>
public static class Safetensors
{
    public static byte[] Write(IReadOnlyList<NamedTensor> layout, ReadOnlySpan<float> values, IReadOnlyDictionary<string, string>? metadata = null)
    {
        long expected = layout.Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));
        if (expected != values.Length) throw new ArgumentException($"layout holds {expected} values but {values.Length} were given.");
        var header = new JsonObject();
        if (metadata is { Count: > 0 }) header["__metadata__"] = new JsonObject(metadata.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value)));
        long offset = 0;
        foreach (var t in layout)
        {
            long bytes = t.Shape.Aggregate(1L, (a, b) => a * b) * 4;
            header[t.Name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode?)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8; // the format pads the header with spaces to 8-byte alignment
        var output = new byte[8 + padded + values.Length * 4];
        BinaryPrimitives.WriteUInt64LittleEndian(output, (ulong)padded);
        json.CopyTo(output, 8);
        output.AsSpan(8 + json.Length, padded - json.Length).Fill((byte)' ');
        MemoryMarshal.AsBytes(values).CopyTo(output.AsSpan(8 + padded));
        return output;
    }

    /// <summary>The header may be large (a name per tensor) but not unbounded: the format's own readers cap it at 100 MB.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>
    /// Reads a safetensors file, as PyTorch's <c>safetensors.torch.save_file</c> or <see cref="Write"/> writes it, into
    /// float32 tensors in file order. F32, F16, BF16 and F64 tensors are read (converted to float32). The file is
    /// untrusted input: a header that does not fit or parse, an entry without dtype, shape or offsets, a byte range
    /// outside the data, overlapping or not of its shape's size, or a repeated name is refused as
    /// <see cref="InvalidDataException"/> naming the tensor (never a value), before any tensor is allocated.
    /// </summary>
    public static IReadOnlyList<SafetensorsTensor> Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 8) throw new InvalidDataException($"the file has {bytes.Length} bytes, fewer than the 8 of a safetensors header length: not a safetensors file.");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength < 2 || headerLength > (ulong)Math.Min(MaxHeaderBytes, bytes.Length - 8))
            throw new InvalidDataException($"its header length {headerLength} does not fit the file ({bytes.Length} bytes) or the format's {MaxHeaderBytes:N0}-byte cap: not a safetensors file (a torch.save checkpoint is not one: save with safetensors.torch.save_file(model.state_dict(), path)), or truncated.");
        JsonDocument header;
        try { header = JsonDocument.Parse(bytes.Slice(8, (int)headerLength).ToArray()); }
        catch (JsonException e) { throw new InvalidDataException($"its header is not JSON (at byte {8 + (e.BytePositionInLine ?? 0)}): not a safetensors file, or damaged."); }
        using var _ = header;
        if (header.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException("its header is not a JSON object: not a safetensors file.");
        var data = bytes[(8 + (int)headerLength)..];
        var entries = new List<(string Name, string DType, long[] Shape, long Begin, long End)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__") continue;
            var at = $"tensor '{Shown(entry.Name)}'";
            if (!names.Add(entry.Name)) throw new InvalidDataException($"{at} appears twice in the header.");
            var e = entry.Value;
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String
                || !e.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array
                || !e.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
                throw new InvalidDataException($"{at}: its header entry needs \"dtype\", \"shape\" and two \"data_offsets\".");
            int size = ElementSize(dtype.GetString()!, at);
            long count = 1;
            var dims = new long[shape.GetArrayLength()];
            int i = 0;
            foreach (var d in shape.EnumerateArray())
            {
                if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out dims[i]) || dims[i] < 0) throw new InvalidDataException($"{at}: its shape holds something that is not a size >= 0.");
                count = dims[i] == 0 ? 0 : count > long.MaxValue / dims[i] ? throw new InvalidDataException($"{at}: its shape overflows.") : count * dims[i];
                i++;
            }
            long[] range = new long[2];
            i = 0;
            foreach (var o in offsets.EnumerateArray())
                if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out range[i++])) throw new InvalidDataException($"{at}: its data_offsets are not two byte offsets.");
            if (range[0] < 0 || range[0] > range[1] || range[1] > data.Length)
                throw new InvalidDataException($"{at}: its bytes [{range[0]}, {range[1]}) lie outside the file's {data.Length} data bytes: truncated or damaged.");
            if (count > (range[1] - range[0]) / size || count * size != range[1] - range[0])
                throw new InvalidDataException($"{at}: its {range[1] - range[0]} bytes do not hold its shape [{string.Join(", ", dims)}] of {dtype.GetString()} ({size} bytes each).");
            entries.Add((entry.Name, dtype.GetString()!, dims, range[0], range[1]));
        }
        entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        for (int k = 1; k < entries.Count; k++)
            if (entries[k].Begin < entries[k - 1].End)
                throw new InvalidDataException($"tensor '{Shown(entries[k].Name)}' overlaps the bytes of tensor '{Shown(entries[k - 1].Name)}': damaged.");
        var tensors = new SafetensorsTensor[entries.Count];
        for (int k = 0; k < entries.Count; k++)
            tensors[k] = new SafetensorsTensor(entries[k].Name, entries[k].Shape, Floats(data[(int)entries[k].Begin..(int)entries[k].End], entries[k].DType));
        return tensors;
    }

    private static int ElementSize(string dtype, string at) => dtype switch
    {
        "F32" => 4,
        "F16" or "BF16" => 2,
        "F64" => 8,
        _ => throw new InvalidDataException($"{at} has dtype '{Shown(dtype)}'; weights must be floating point: F32, F16, BF16 or F64 (e.g. model.float() in PyTorch before saving)."),
    };

    private static float[] Floats(ReadOnlySpan<byte> bytes, string dtype)
    {
        switch (dtype)
        {
            case "F32": return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
            case "F64":
            {
                var values = new float[bytes.Length / 8];
                for (int i = 0; i < values.Length; i++) values[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
                return values;
            }
            default:
            {
                var values = new float[bytes.Length / 2];
                for (int i = 0; i < values.Length; i++)
                {
                    ushort bits = BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]);
                    // bfloat16 is the top half of a float32 (same exponent); float16 has its own, converted by Half.
                    values[i] = dtype == "BF16" ? BitConverter.Int32BitsToSingle(bits << 16) : (float)BitConverter.UInt16BitsToHalf(bits);
                }
                return values;
            }
        }
    }

    /// <summary>A name from the file as it may be shown: at most 60 printable characters.</summary>
    public static string Shown(string s) => new string(s.Take(60).Select(c => char.IsControl(c) ? '?' : c).ToArray()) + (s.Length > 60 ? "..." : "");
}

/// <summary>One tensor read from a safetensors file, as float32.</summary>
public sealed record SafetensorsTensor(string Name, long[] Shape, float[] Values);
