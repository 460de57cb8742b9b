using System.Buffers.Binary;
using System.IO.Compression;

namespace FedGrains.Tests;

/// <summary>Writes idx files (big-endian magic and dimensions, then the payload) for site-data tests; linked into both test projects.</summary>
internal static class IdxFiles
{
    public static string Write(string path, int magic, int[] dims, byte[] payload, bool gzip = false)
    {
        var header = new byte[4 + 4 * dims.Length];
        BinaryPrimitives.WriteInt32BigEndian(header, magic);
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        using var file = File.Create(path);
        using Stream target = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        target.Write(header);
        target.Write(payload);
        return path;
    }
}
