using System.Buffers.Binary;
using System.IO.Compression;

namespace FedGrains.Learning.Data;

/// <summary>Reads the idx format of MNIST-like datasets (http://yann.lecun.com/exdb/mnist/), raw or gzip.</summary>
public static class IdxReader
{
    /// <summary>Reads an idx3 image file (uint8 pixels) scaled to [0, 1]; returns pixels row-major and (rows, cols).</summary>
    public static (float[] Pixels, int Count, int Rows, int Cols) ReadImages(string path)
    {
        var bytes = ReadAll(path);
        RequireMagic(bytes, 0x00000803, path, "images");
        int count = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4));
        int rows = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(8));
        int cols = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(12));
        long n = (long)count * rows * cols;
        if (bytes.Length < 16 + n)
            throw new InvalidDataException($"{path} is truncated: header says {count} images of {rows}x{cols} but the file has {bytes.Length - 16} pixel bytes.");
        var pixels = new float[n];
        for (long i = 0; i < n; i++) pixels[i] = bytes[16 + i] / 255f;
        return (pixels, count, rows, cols);
    }

    /// <summary>Reads an idx1 label file (uint8 labels).</summary>
    public static int[] ReadLabels(string path)
    {
        var bytes = ReadAll(path);
        RequireMagic(bytes, 0x00000801, path, "labels");
        int count = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4));
        if (bytes.Length < 8 + count)
            throw new InvalidDataException($"{path} is truncated: header says {count} labels but the file has {bytes.Length - 8}.");
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = bytes[8 + i];
        return labels;
    }

    /// <summary>Reads an images/labels idx pair into one set; the counts must match.</summary>
    public static LabeledData ReadPair(string imagesPath, string labelsPath, int classes = 10)
    {
        var (pixels, count, rows, cols) = ReadImages(imagesPath);
        var labels = ReadLabels(labelsPath);
        if (labels.Length != count)
            throw new InvalidDataException($"{imagesPath} has {count} images but {labelsPath} has {labels.Length} labels.");
        return new LabeledData(pixels, labels, [1, rows, cols], classes);
    }

    private static byte[] ReadAll(string path)
    {
        using var file = File.OpenRead(path);
        using var buffer = new MemoryStream();
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            gz.CopyTo(buffer);
        }
        else file.CopyTo(buffer);
        return buffer.ToArray();
    }

    private static void RequireMagic(byte[] bytes, int magic, string path, string what)
    {
        if (bytes.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(bytes) != magic)
            throw new InvalidDataException($"{path} is not an idx {what} file (magic number 0x{magic:x8} expected).");
    }
}
