using System.Buffers.Binary;
using System.Text;

namespace FedGrains.Learning.Tests.Codecs;

/// <summary>Safetensors files laid out byte by byte, as other tools (PyTorch's safetensors) write them, or damaged.</summary>
public static class SafetensorsFiles
{
    /// <summary>A file laid out by hand as the format specifies: header length, JSON header (padded to 8 bytes), data.</summary>
    public static byte[] Lay(string headerJson, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(headerJson);
        int padded = (json.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        json.CopyTo(bytes, 8);
        bytes.AsSpan(8 + json.Length, padded - json.Length).Fill((byte)' ');
        data.CopyTo(bytes, 8 + padded);
        return bytes;
    }
}
