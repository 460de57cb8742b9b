using System.Buffers.Binary;
using System.Text;
using FedGrains.Learning.Codecs;

namespace FedGrains.Learning.Tests.Codecs;

/// <summary>Safetensors files as PyTorch writes them, read back exactly; damaged or hostile ones refused before any tensor is allocated.</summary>
public sealed class SafetensorsTests
{
    [Fact]
    public void Our_export_reads_back_exactly_in_its_order()
    {
        var bytes = Safetensors.Write([new("fc1.weight", [2, 3]), new("fc1.bias", [2])], [1, 2, 3, 4, 5, 6, -7, 8.5f], new Dictionary<string, string> { ["job_id"] = "j" });

        var tensors = Safetensors.Read(bytes);

        Assert.Equal(["fc1.weight", "fc1.bias"], tensors.Select(t => t.Name));
        Assert.Equal([2L, 3], tensors[0].Shape);
        Assert.Equal([-7f, 8.5f], tensors[1].Values);
    }

    [Fact]
    public void Half_bfloat16_and_double_tensors_are_read_as_the_floats_they_hold()
    {
        // 1.5 and -2 as float16 (0x3E00, 0xC000), bfloat16 (0x3FC0, 0xC000) and float64; header keys in PyTorch's order, not the data's.
        var data = new byte[4 + 4 + 16];
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(0), 0x3E00);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2), 0xC000);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(4), 0x3FC0);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(6), 0xC000);
        BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(8), 1.5);
        BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(16), -2);
        var file = SafetensorsFiles.Lay("""{"__metadata__":{"format":"pt"},"d":{"dtype":"F64","shape":[2],"data_offsets":[8,24]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},"h":{"dtype":"F16","shape":[1,2],"data_offsets":[0,4]}}""", data);

        var tensors = Safetensors.Read(file);

        Assert.Equal(["h", "b", "d"], tensors.Select(t => t.Name));
        Assert.All(tensors, t => Assert.Equal([1.5f, -2f], t.Values));
        Assert.Equal([1L, 2], tensors[0].Shape);
    }

    public static TheoryData<string, byte[], string> Damaged => new()
    {
        { "too short", [1, 2, 3], "fewer than the 8" },
        { "header length past the end", SafetensorsFiles.Lay("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4])[..20], "does not fit the file" },
        { "header length of 2^63", [0, 0, 0, 0, 0, 0, 0, 0x80, (byte)'{', (byte)'}'], "does not fit the file" },
        { "header not JSON", SafetensorsFiles.Lay("not json at all", []), "not JSON" },
        { "header a JSON array", SafetensorsFiles.Lay("[1, 2]", []), "not a JSON object" },
        { "entry without offsets", SafetensorsFiles.Lay("""{"a":{"dtype":"F32","shape":[1]}}""", new byte[4]), "tensor 'a': its header entry needs" },
        { "integer tensor", SafetensorsFiles.Lay("""{"step":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}""", new byte[8]), "tensor 'step' has dtype 'I64'; weights must be floating point" },
        { "bytes outside the data", SafetensorsFiles.Lay("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", new byte[8]), "lie outside the file's 8 data bytes" },
        { "shape bigger than its bytes", SafetensorsFiles.Lay("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", new byte[8]), "do not hold its shape [3]" },
        { "shape that overflows", SafetensorsFiles.Lay("""{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}""", new byte[8]), "overflows" },
        { "negative size", SafetensorsFiles.Lay("""{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", new byte[8]), "not a size >= 0" },
        { "offsets reversed", SafetensorsFiles.Lay("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}""", new byte[8]), "lie outside" },
        { "overlapping tensors", SafetensorsFiles.Lay("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8]), "overlaps the bytes of tensor 'a'" },
        { "a name twice", SafetensorsFiles.Lay("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8]), "appears twice" },
    };

    [Theory, MemberData(nameof(Damaged))]
    public void A_damaged_or_hostile_file_is_refused_naming_what_is_wrong(string _, byte[] file, string mustSay)
    {
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Read(file));
        Assert.Contains(mustSay, e.Message);
    }
}
