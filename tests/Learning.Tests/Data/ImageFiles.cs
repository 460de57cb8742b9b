using SkiaSharp;

namespace FedGrains.Tests;

/// <summary>Encodes images with SkiaSharp for image-folder tests; linked into both test projects.</summary>
internal static class ImageFiles
{
    /// <summary>A one-channel image of <paramref name="width"/> x <paramref name="height"/> grey bytes (row-major), encoded as <paramref name="format"/>.</summary>
    public static byte[] Gray(int width, int height, ReadOnlySpan<byte> pixels, SKEncodedImageFormat format = SKEncodedImageFormat.Png) =>
        Encode(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque), pixels, 1, format);

    /// <summary>A colour image of RGBA bytes (4 per pixel, row-major), encoded as <paramref name="format"/>.</summary>
    public static byte[] Rgba(int width, int height, ReadOnlySpan<byte> pixels, SKEncodedImageFormat format = SKEncodedImageFormat.Png) =>
        Encode(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), pixels, 4, format);

    /// <summary>Writes <paramref name="bytes"/> at <paramref name="path"/>, creating its folder.</summary>
    public static string Write(string path, byte[] bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static unsafe byte[] Encode(SKImageInfo info, ReadOnlySpan<byte> pixels, int bytesPerPixel, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(info);
        var target = new Span<byte>((void*)bitmap.GetPixels(), bitmap.ByteCount);
        for (int row = 0; row < info.Height; row++)
            pixels.Slice(row * info.Width * bytesPerPixel, info.Width * bytesPerPixel).CopyTo(target[(row * bitmap.RowBytes)..]);
        using var data = bitmap.Encode(format, 100) ?? throw new InvalidOperationException($"SkiaSharp cannot encode {info.ColorType} as {format}.");
        return data.ToArray();
    }
}
