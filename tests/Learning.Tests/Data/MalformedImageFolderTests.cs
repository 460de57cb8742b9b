using System.Buffers.Binary;
using System.IO.Hashing;
using FedGrains.Learning.Data;
using FedGrains.Tests;

namespace FedGrains.Learning.Tests.Data;

/// <summary>
/// Every kind of unusable image folder is refused with a <see cref="DataFileException"/> that names the dataset, the
/// class folder and the file's position in name order. File names hold <see cref="Secret"/> (as a patient's id would)
/// and so do the files' bytes: no message may show either, nor the folder's path.
/// </summary>
public sealed class MalformedImageFolderTests : IDisposable
{
    private const string Secret = "31337.4242";
    private const string Shown = "site dataset 'ward' (FedGrains:Site:Datasets:ward:Folder)";
    private readonly string dir = Directory.CreateTempSubdirectory("fedgrains-bad-images-").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    private string Site => Path.Combine(dir, "ward");

    private void File(string relative, byte[] bytes) => ImageFiles.Write(Path.Combine(Site, relative), bytes);

    private static byte[] Png(int width = 28, int height = 28) =>
        ImageFiles.Gray(width, height, Enumerable.Range(0, width * height).Select(i => (byte)(i * 37 % 251)).ToArray());

    private string Refusal(string? folder = null, long? availableBytes = null)
    {
        var message = Assert.Throws<DataFileException>(() => ImageFolder.Read(folder ?? Site, 10, 28, 28, Shown, availableBytes)).Message;
        Assert.StartsWith(Shown, message);
        Assert.DoesNotContain(Secret, message);
        Assert.DoesNotContain(dir, message);
        return message;
    }

    [Fact]
    public void A_folder_that_does_not_exist_or_is_a_file_is_refused()
    {
        Assert.Contains("does not exist: check the path", Refusal());
        System.IO.File.WriteAllText(Site, Secret);
        Assert.Contains("is a file, not a folder: give the folder that holds one sub-folder per class (0 to 9)", Refusal());
    }

    [Fact]
    public void An_empty_folder_or_one_with_only_hidden_entries_has_no_class_folders()
    {
        Directory.CreateDirectory(Site);
        Assert.Contains("holds no class folders: put each class's images in a sub-folder named by its index, 0 to 9", Refusal());
        File($".{Secret}/3/a.png", Png());
        Assert.Contains("holds no class folders", Refusal());
    }

    [Fact]
    public void Images_outside_class_folders_are_refused_not_skipped()
    {
        File($"{Secret}.png", Png());
        Assert.Contains("holds a file at its top level, outside the class folders", Refusal());
    }

    [Fact]
    public void Class_folders_that_hold_no_images_are_refused()
    {
        Directory.CreateDirectory(Path.Combine(Site, "0"));
        File($"4/.{Secret}", Png());
        Assert.Contains("its class folders hold no images", Refusal());
    }

    [Theory]
    [InlineData("10", "holds a class folder '10', which is not one of the job's class indexes")]
    [InlineData("03", "holds a class folder '03', which is not one of the job's class indexes")]
    [InlineData("-1", "holds a folder whose name is not a class index")]
    [InlineData(Secret, "holds a folder whose name is not a class index")]
    public void A_class_folder_that_is_not_a_class_index_is_refused_with_the_accepted_names(string name, string says)
    {
        File("0/a.png", Png());
        File($"{name}/a.png", Png());

        var message = Refusal();

        Assert.Contains(says, message);
        Assert.Contains("the job's dataset has 10 classes, so class folders are named 0 to 9", message);
    }

    [Fact]
    public void A_nested_folder_in_a_class_folder_is_refused()
    {
        File($"2/{Secret}/a.png", Png());
        Assert.Contains("class folder '2' holds a sub-folder", Refusal());
    }

    [Fact]
    public void A_file_that_is_not_an_image_is_refused_by_its_position_in_name_order()
    {
        File("3/0.png", Png());
        File($"3/{Secret}.txt", "patient 31337.4242, ward 7\n"u8.ToArray());

        Assert.Contains($"{Shown}: file 2 (in name order) of class folder '3' is not an image the decoder reads (PNG, JPEG", Refusal());
    }

    [Fact]
    public void A_zero_byte_file_is_refused_as_empty()
    {
        File($"5/{Secret}.png", []);
        Assert.Contains("file 1 (in name order) of class folder '5' is empty (0 bytes)", Refusal());
    }

    [Fact]
    public void A_png_cut_short_is_refused_as_truncated()
    {
        var png = Png();
        File($"1/{Secret}.png", png[..(png.Length / 2)]);
        Assert.Contains("file 1 (in name order) of class folder '1' is truncated or damaged: its PNG pixel data cannot be decoded to the last row", Refusal());
    }

    [Fact]
    public void A_png_whose_pixel_data_is_damaged_is_refused_like_a_truncated_one()
    {
        var png = Png();
        // The compressed pixels inside the IDAT chunk (past its 2-byte zlib header) flipped, its CRC made right again:
        // the chunk structure is sound and only the pixel data is damaged.
        int type = png.AsSpan().IndexOf("IDAT"u8), length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(type - 4));
        for (int i = type + 6; i < type + 4 + length; i++) png[i] ^= 0x5a;
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(type + 4 + length), Crc32.HashToUInt32(png.AsSpan(type, 4 + length)));
        File($"1/{Secret}.png", png);
        Assert.Contains("file 1 (in name order) of class folder '1' is truncated or damaged", Refusal());
    }

    [Fact]
    public void A_png_whose_header_is_damaged_is_refused_from_its_header()
    {
        var png = Png();
        png[24] = 7; // IHDR's bit depth: PNG has none of 7
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32.HashToUInt32(png.AsSpan(12, 17)));
        File($"6/{Secret}.png", png);
        Assert.Contains("file 1 (in name order) of class folder '6' is truncated or damaged: its image header cannot be read", Refusal());
    }

    [Fact]
    public void An_image_of_another_size_is_refused_with_both_sizes_and_not_resized()
    {
        File("7/0.png", Png());
        File($"7/{Secret}.png", Png(32, 28));

        Assert.Contains("file 2 (in name order) of class folder '7' is 32x28 pixels, but the job's dataset has images of 28x28", Refusal());
    }

    [Fact]
    public void An_absurd_header_is_refused_from_the_header_without_allocating_its_pixels()
    {
        var png = Png();
        // IHDR: width and height at bytes 16-23, its CRC over type and data at 29-32.
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), 60000);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), 60000);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32.HashToUInt32(png.AsSpan(12, 17)));
        File($"0/{Secret}.png", png);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var message = Refusal();

        Assert.Contains("is 60000x60000 pixels, but the job's dataset has images of 28x28", message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void More_images_than_memory_allows_are_refused_after_counting_before_decoding_any()
    {
        // Not images at all: a reader that decoded before counting would refuse them as such.
        for (int i = 0; i < 3; i++) File($"{i}/{Secret}-{i}.png", "31337.4242"u8.ToArray());

        var message = Refusal(availableBytes: 2 * (784 * 4 + 4));

        Assert.Contains("holds 3 images of 28x28 pixels, which need at least 9.2 KiB of memory, and this process may use 6.13 KiB", message);
    }
}
