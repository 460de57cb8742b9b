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

    /// <summary>Reads a safetensors file of F32 tensors back into (name, shape, values), in file order.</summary>
    public static IReadOnlyList<(string Name, long[] Shape, float[] Values)> Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 8) throw new InvalidDataException("safetensors file is shorter than its header length.");
        var headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength <= 0 || 8 + headerLength > bytes.Length) throw new InvalidDataException($"safetensors header length {headerLength} does not fit the file.");
        using var header = JsonDocument.Parse(bytes.Slice(8, (int)headerLength).ToArray());
        var data = bytes[(8 + (int)headerLength)..];
        var tensors = new List<(string, long[], float[], long)>();
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__") continue;
            if (entry.Value.GetProperty("dtype").GetString() != "F32") throw new InvalidDataException($"tensor {entry.Name} is not F32.");
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var range = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var values = MemoryMarshal.Cast<byte, float>(data[(int)range[0]..(int)range[1]]).ToArray();
            tensors.Add((entry.Name, shape, values, range[0]));
        }
        return tensors.OrderBy(t => t.Item4).Select(t => (t.Item1, t.Item2, t.Item3)).ToArray();
    }
}
