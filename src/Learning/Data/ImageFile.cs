using SkiaSharp;

namespace FedGrains.Learning.Data;

/// <summary>
/// Decodes one image file (PNG, JPEG, or another format SkiaSharp reads: GIF's first frame, BMP, WebP, ICO, WBMP) into
/// one-channel pixels on [0, 1]. The header is read first and an image of another size is refused before its pixels
/// are allocated, so a header claiming 60000x60000 pixels costs nothing.
/// </summary>
internal static class ImageFile
{
    /// <summary>Writes the image at <paramref name="path"/> into <paramref name="target"/> (rows x cols, row-major); <paramref name="shown"/> names it in messages.</summary>
    public static void ReadGray(string path, string shown, int rows, int cols, Span<float> target)
    {
        using var file = DataFile.OpenRead(path, shown);
        if (file.Length == 0) throw new DataFileException($"{shown} is empty (0 bytes): copy the image again, or remove it.");
        // No decoder knows the format (Unimplemented), or one knows it and cannot read the header: Skia reports a damaged
        // header and one cut short alike (IncompleteInput), so the message names both.
        using var codec = SKCodec.Create(file, out var opened) ?? throw new DataFileException(opened == SKCodecResult.Unimplemented
            ? $"{shown} is not an image the decoder reads (PNG, JPEG, GIF, BMP, WebP, ICO, WBMP): remove it, or hide it with a name starting with '.'."
            : $"{shown} is truncated or damaged: its image header cannot be read; copy the image again, or remove it.");
        var info = codec.Info;
        if (info.Width != cols || info.Height != rows)
            throw new DataFileException($"{shown} is {info.Width}x{info.Height} pixels, but the job's dataset has images of {cols}x{rows} and every site must match it (one model is evaluated on the shared test set); images are not resized: resize them to {cols}x{rows} before adding them.");
        // A grey source is decoded as it is, byte for byte; a colour one as RGBA without colour-space conversion (no
        // target colour space), then reduced to luminance below. Alpha is ignored, as PIL's convert("L") ignores it.
        bool gray = info.ColorType == SKColorType.Gray8;
        var decoded = new SKImageInfo(cols, rows, gray ? SKColorType.Gray8 : SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bytes = new byte[decoded.BytesSize];
        SKCodecResult result;
        unsafe
        {
            fixed (byte* p = bytes) result = codec.GetPixels(decoded, (IntPtr)p);
        }
        var format = codec.EncodedFormat.ToString().ToUpperInvariant();
        // Likewise damaged pixel data and data that ends early (IncompleteInput). The rows it did decode are never used.
        if (result != SKCodecResult.Success)
            throw new DataFileException(result == SKCodecResult.IncompleteInput
                ? $"{shown} is truncated or damaged: its {format} pixel data cannot be decoded to the last row; copy the image again, or remove it."
                : $"{shown} is a corrupt {format} image: its pixels cannot be decoded ({result}); copy the image again, or remove it.");
        if (gray)
            for (int i = 0; i < target.Length; i++) target[i] = bytes[i] / 255f;
        else
            for (int i = 0; i < target.Length; i++)
            {
                // ITU-R BT.601 luma weights, as PIL's convert("L") and torchvision's Grayscale use. Integer weights
                // summing to 1000 keep a grey pixel stored as colour exactly v / 255, the value of the same grey byte.
                int r = bytes[4 * i], g = bytes[4 * i + 1], b = bytes[4 * i + 2];
                target[i] = (299 * r + 587 * g + 114 * b) / 255_000f;
            }
    }
}
