using System.Buffers.Binary;
using System.IO.Compression;

namespace FedGrains.Learning.Data;

/// <summary>
/// Reads the idx format of MNIST-like datasets (http://yann.lecun.com/exdb/mnist/), raw or gzip (told apart by the
/// gzip magic bytes, whatever the file's name). A file that cannot be used is refused with a
/// <see cref="DataFileException"/> that names the byte offset or header field, never a value from the file.
/// </summary>
public static class IdxReader
{
    private const int ImagesMagic = 0x00000803, LabelsMagic = 0x00000801;

    /// <summary>Reads an idx3 image file (uint8 pixels) scaled to [0, 1]; returns pixels row-major and (rows, cols).</summary>
    public static (float[] Pixels, int Count, int Rows, int Cols) ReadImages(string path, string? shownAs = null)
    {
        var shown = shownAs ?? path;
        using var file = IdxFile.Open(path, shown);
        var dims = file.Header(ImagesMagic, LabelsMagic, "images", "labels", ["image count", "rows", "columns"]);
        var bytes = file.Payload(dims, $"{dims[0]} images of {dims[1]}x{dims[2]} pixels");
        var pixels = new float[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) pixels[i] = bytes[i] / 255f;
        return (pixels, dims[0], dims[1], dims[2]);
    }

    /// <summary>Reads an idx1 label file (uint8 labels).</summary>
    public static int[] ReadLabels(string path, string? shownAs = null)
    {
        var shown = shownAs ?? path;
        using var file = IdxFile.Open(path, shown);
        var dims = file.Header(LabelsMagic, ImagesMagic, "labels", "images", ["label count"]);
        return Array.ConvertAll(file.Payload(dims, $"{dims[0]} labels"), b => (int)b);
    }

    /// <summary>Reads an images/labels idx pair into one set; the counts must match and every label must be a class.</summary>
    public static LabeledData ReadPair(string imagesPath, string labelsPath, int classes = 10, string? imagesShownAs = null, string? labelsShownAs = null)
    {
        var (pixels, count, rows, cols) = ReadImages(imagesPath, imagesShownAs);
        var labels = ReadLabels(labelsPath, labelsShownAs);
        if (labels.Length != count)
            throw new DataFileException($"{imagesShownAs ?? imagesPath} has {count} images but {labelsShownAs ?? labelsPath} has {labels.Length} labels; give the labels file that belongs to these images.");
        if (Array.FindIndex(labels, l => l >= classes) is >= 0 and var bad)
            throw new DataFileException($"{labelsShownAs ?? labelsPath}: the label of example {bad + 1} (byte offset {8 + bad}) is {classes} or more, beyond the job's {classes} classes; a label is a class index from 0 to {classes - 1}.");
        return new LabeledData(pixels, labels, [1, rows, cols], classes);
    }

    /// <summary>An open idx file: its header checked against its length before anything is allocated for the data.</summary>
    private sealed class IdxFile : IDisposable
    {
        // Deflate compresses at most about 1032:1 (zlib's technical details, "Maximum compression factor"), so a gzip
        // file of n bytes cannot hold more than 1032 n: a header claiming more is refused before any allocation.
        private const long MaxDeflateRatio = 1032;

        private readonly FileStream file;
        private readonly Stream data;
        private readonly string shown;
        private readonly bool gzip;
        private long offset;

        private IdxFile(FileStream file, string shown)
        {
            this.file = file;
            this.shown = shown;
            data = file;
            Span<byte> magic = stackalloc byte[2];
            gzip = Read(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
            (file.Position, offset) = (0, 0);
            if (gzip) data = new GZipStream(file, CompressionMode.Decompress);
        }

        public static IdxFile Open(string path, string shown)
        {
            var file = DataFile.OpenRead(path, shown);
            try { return new IdxFile(file, shown); }
            catch
            {
                file.Dispose();
                throw;
            }
        }

        private long MaxDataBytes => gzip ? file.Length * MaxDeflateRatio : file.Length;

        private string Where => gzip ? " of its decompressed data" : "";

        /// <summary>Reads the magic number and dimensions; each must be at least 1.</summary>
        public int[] Header(int magic, int otherMagic, string what, string other, string[] fields)
        {
            var header = new byte[4 + 4 * fields.Length];
            int got = Read(header);
            if (got >= 4 && BinaryPrimitives.ReadInt32BigEndian(header) is var found && found != magic)
                throw new DataFileException(found == otherMagic
                    ? $"{shown} is an idx {other} file, not {what}: are images and labels swapped?"
                    : $"{shown} is not an idx {what} file{(gzip ? "" : " nor a gzip of one")}: its first 4 bytes are not the magic number 0x{magic:x8}; give the {what} file.");
            if (got == 0) throw new DataFileException($"{shown} is empty: give the idx {what} file.");
            if (got < header.Length)
                throw new DataFileException($"{shown} is truncated: it ends at byte {got}{Where}, inside its {header.Length}-byte header; copy the file again.");
            var dims = new int[fields.Length];
            for (int i = 0; i < dims.Length; i++)
            {
                dims[i] = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4 + 4 * i));
                if (dims[i] < 1)
                    throw new DataFileException($"{shown}: its header's {fields[i]} (bytes {4 + 4 * i}-{7 + 4 * i}) is {(dims[i] == 0 ? "0" : "negative")}; an idx {what} file needs at least one of each, so the file is empty or its header is corrupt.");
            }
            return dims;
        }

        /// <summary>The data bytes the header announces, refused before allocation when the file cannot hold them.</summary>
        public byte[] Payload(int[] dims, string announced)
        {
            long n = dims.Aggregate(1L, (a, d) => a * d);
            long room = MaxDataBytes - offset;
            if (n > room || n > Array.MaxLength)
                throw new DataFileException($"{shown}: its header announces {announced} ({n:N0} bytes) but the file {(gzip ? $"is {file.Length:N0} bytes of gzip, which cannot hold that much" : $"has only {Math.Max(room, 0):N0} bytes after its header")}: it is truncated or its header is corrupt; copy it again.");
            var bytes = new byte[Math.Min(n, 1 << 26)]; // a gzip's claim is checked only as data arrives
            int filled = 0;
            while (filled < n)
            {
                if (filled == bytes.Length) Array.Resize(ref bytes, (int)Math.Min(n, 2L * bytes.Length));
                int got = Read(bytes.AsSpan(filled));
                if (got == 0)
                    throw new DataFileException($"{shown} is truncated: its header announces {announced} but the data ends at byte {offset:N0}{Where}, {n - filled:N0} bytes short; copy the file again.");
                filled += got;
            }
            return bytes;
        }

        private int Read(Span<byte> target)
        {
            try
            {
                int got = data.ReadAtLeast(target, target.Length, throwOnEndOfStream: false);
                offset += got;
                return got;
            }
            catch (InvalidDataException)
            {
                throw new DataFileException($"{shown} is a corrupt gzip file: its compressed data cannot be decoded (near byte {file.Position:N0} of the file); copy it again, or give the uncompressed idx file.");
            }
            catch (IOException)
            {
                throw new DataFileException($"{shown} cannot be read (an I/O error from the disk or file system near byte {file.Position:N0}): check the file and the disk.");
            }
        }

        public void Dispose()
        {
            data.Dispose();
            file.Dispose();
        }
    }
}
