using System.Text;
using FedGrains.Learning.Data;
using FedGrains.Tests;

namespace FedGrains.Learning.Tests.Data;

/// <summary>
/// Every kind of broken idx file, raw or gzip, is refused with a <see cref="DataFileException"/> naming the file and
/// the byte offset or header field; an absurd header is refused before anything is allocated for it. The payloads
/// hold <see cref="Secret"/> as text, which no message may show.
/// </summary>
public sealed class MalformedIdxTests : IDisposable
{
    private const string Secret = "31337.4242";
    private static readonly byte[] Planted = Encoding.ASCII.GetBytes(Secret);
    private readonly string dir = Directory.CreateTempSubdirectory("fedgrains-idx-").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    private string Images(string name, int[] dims, byte[] payload, bool gzip) =>
        IdxFiles.Write(Path.Combine(dir, name + (gzip ? ".gz" : "")), 0x803, dims, payload, gzip);

    private string Labels(string name, byte[] labels, bool gzip = false) =>
        IdxFiles.Write(Path.Combine(dir, name + (gzip ? ".gz" : "")), 0x801, [labels.Length], labels, gzip);

    private static string Refusal(Action read)
    {
        var message = Assert.Throws<DataFileException>(read).Message;
        Assert.DoesNotContain(Secret, message);
        return message;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_file_cut_short_in_its_data_says_where_it_ends(bool gzip)
    {
        // 2 images of 5x5 announced, 10 bytes of pixels given.
        var path = Images("short", [2, 5, 5], Planted, gzip);

        var message = Refusal(() => IdxReader.ReadImages(path));

        Assert.Contains("truncated", message);
        Assert.Contains("2 images of 5x5 pixels", message);
    }

    [Fact]
    public void A_gzip_file_cut_short_says_it_is_truncated()
    {
        var whole = File.ReadAllBytes(Images("whole", [4, 28, 28], [.. Enumerable.Range(0, 4 * 784).Select(i => (byte)(i * 7 % 251))], gzip: true));
        var path = Path.Combine(dir, "cut.gz");
        File.WriteAllBytes(path, whole[..(whole.Length / 2)]);

        var message = Refusal(() => IdxReader.ReadImages(path));

        Assert.Contains("cut.gz is truncated: its header announces 4 images of 28x28 pixels but the data ends at byte", message);
    }

    [Fact]
    public void A_file_that_ends_inside_its_header_is_truncated_and_one_without_bytes_is_empty()
    {
        var path = Path.Combine(dir, "header-only");
        File.WriteAllBytes(path, [0, 0, 8, 3, 0, 0, 0, 1, 0, 0]);

        Assert.Contains("inside its 16-byte header", Refusal(() => IdxReader.ReadImages(path)));
        File.WriteAllBytes(path, []);
        Assert.Contains("header-only is empty", Refusal(() => IdxReader.ReadImages(path)));
    }

    [Fact]
    public void A_bad_magic_number_or_swapped_files_are_named()
    {
        var foreign = Path.Combine(dir, "foreign");
        File.WriteAllBytes(foreign, [.. Planted, .. Planted]);
        var labels = Labels("labels", [1, 2]);
        var images = Images("images", [2, 1, 1], [3, 4], gzip: false);

        Assert.Contains("is not an idx images file nor a gzip of one", Refusal(() => IdxReader.ReadImages(foreign)));
        Assert.Contains("is an idx labels file, not images: are images and labels swapped?", Refusal(() => IdxReader.ReadImages(labels)));
        Assert.Contains("is an idx images file, not labels", Refusal(() => IdxReader.ReadPair(images, images)));
    }

    [Fact]
    public void Image_and_label_counts_must_match()
    {
        var images = Images("images", [3, 2, 2], new byte[12], gzip: true);
        var labels = Labels("labels", [0, 1]);

        Assert.Contains("has 3 images but", Refusal(() => IdxReader.ReadPair(images, labels)));
    }

    [Fact]
    public void A_label_beyond_the_classes_is_named_by_example_and_offset()
    {
        var images = Images("images", [3, 2, 2], new byte[12], gzip: false);
        var labels = Labels("labels", [0, 1, 42]);

        var message = Refusal(() => IdxReader.ReadPair(images, labels, classes: 10));

        Assert.Contains("the label of example 3 (byte offset 10) is 10 or more", message);
        Assert.DoesNotContain("42", message);
    }

    [Fact]
    public void A_corrupt_gzip_stream_is_refused_as_corrupt()
    {
        var path = Images("images", [8, 28, 28], [.. Enumerable.Range(0, 8 * 784).Select(i => (byte)(i * 31 % 256))], gzip: true);
        var bytes = File.ReadAllBytes(path);
        for (int i = 12; i < bytes.Length - 8; i++) bytes[i] ^= 0x5a; // the deflate data, past the gzip header
        File.WriteAllBytes(path, bytes);

        var message = Refusal(() => IdxReader.ReadImages(path));

        Assert.Contains("images.gz is a corrupt gzip file: its compressed data cannot be decoded (near byte", message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_absurd_header_is_refused_before_anything_is_allocated_for_it(bool gzip)
    {
        // 2^31-1 images of 65535x65535: about 9e18 bytes announced, 10 given.
        var path = Images("absurd", [int.MaxValue, 65535, 65535], Planted, gzip);
        long before = GC.GetAllocatedBytesForCurrentThread();

        var message = Refusal(() => IdxReader.ReadImages(path));

        Assert.Contains("truncated or its header is corrupt", message);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated");
    }

    [Fact]
    public void A_gzip_header_claiming_more_than_deflate_can_hold_is_refused_at_once()
    {
        // 1,000 images of 1000x1000 (1 GB) cannot come out of a gzip file of a few dozen bytes (deflate tops out near 1032:1).
        var path = Images("bomb-claim", [1000, 1000, 1000], new byte[16], gzip: true);
        long before = GC.GetAllocatedBytesForCurrentThread();

        Assert.Contains("which cannot hold that much", Refusal(() => IdxReader.ReadImages(path)));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void A_header_with_zero_or_negative_dimensions_is_refused()
    {
        Assert.Contains("image count (bytes 4-7) is 0", Refusal(() => IdxReader.ReadImages(Images("none", [0, 28, 28], [], gzip: false))));
        Assert.Contains("rows (bytes 8-11) is negative", Refusal(() => IdxReader.ReadImages(Images("negative", [1, -28, 28], Planted, gzip: false))));
    }

    [Fact]
    public void Missing_files_and_folders_are_named()
    {
        var labels = Labels("labels", [1]);

        Assert.Contains("does not exist", Refusal(() => IdxReader.ReadPair(Path.Combine(dir, "no-images.gz"), labels)));
        Assert.Contains("is a folder, not a file", Refusal(() => IdxReader.ReadPair(dir, labels)));
    }

    [Fact]
    public void Gzip_is_recognised_by_its_bytes_not_its_name()
    {
        var gzipped = Images("gzipped-without-suffix", [1, 2, 2], [0, 51, 102, 255], gzip: true);
        var plain = Path.Combine(dir, "plain.gz");
        File.Copy(Images("plain", [1, 2, 2], [0, 51, 102, 255], gzip: false), plain);
        var named = Path.Combine(dir, "gzipped");
        File.Move(gzipped, named);

        Assert.Equal([0f, 0.2f, 0.4f, 1f], IdxReader.ReadImages(named).Pixels);
        Assert.Equal([0f, 0.2f, 0.4f, 1f], IdxReader.ReadImages(plain).Pixels);
    }
}
