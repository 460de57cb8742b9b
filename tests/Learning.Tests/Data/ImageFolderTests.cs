using FedGrains.Learning.Data;
using FedGrains.Learning.Datasets;
using FedGrains.Tests;
using SkiaSharp;

namespace FedGrains.Learning.Tests.Data;

/// <summary>A folder of labelled images read as a site's data: real PNG and JPEG files written with SkiaSharp.</summary>
public sealed class ImageFolderTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("fedgrains-image-folder-").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    private string File(string relative, byte[] bytes) => ImageFiles.Write(Path.Combine(dir, relative), bytes);

    private static byte[] Flat(int width, int height, byte value) => ImageFiles.Gray(width, height, Enumerable.Repeat(value, width * height).ToArray());

    [Fact]
    public void Fashion_mnist_images_as_png_give_exactly_the_examples_of_their_idx_files()
    {
        var dataset = FederatedDataset.Load(new DatasetSpec(), 1, ["shared"]);
        var (pixels, _, _, _) = IdxReader.ReadImages(Path.Combine(FashionMnist.DebianPackageDirectory, "t10k-images-idx3-ubyte.gz"));
        var labels = IdxReader.ReadLabels(Path.Combine(FashionMnist.DebianPackageDirectory, "t10k-labels-idx1-ubyte.gz"));
        const int n = 300;
        // The folder's order is class, then name: the idx pair holds the same images in that order.
        var order = Enumerable.Range(0, n).OrderBy(i => labels[i]).ToArray();
        var bytes = order.SelectMany(i => pixels.Skip(i * 784).Take(784).Select(p => (byte)Math.Round(p * 255))).ToArray();
        foreach (var (i, k) in order.Select((i, k) => (i, k)))
            File($"folder/{labels[i]}/{i:D5}.png", ImageFiles.Gray(28, 28, bytes.AsSpan(k * 784, 784)));
        var images = IdxFiles.Write(Path.Combine(dir, "images"), 0x803, [n, 28, 28], bytes);
        var labelFile = IdxFiles.Write(Path.Combine(dir, "labels"), 0x801, [n], order.Select(i => (byte)labels[i]).ToArray());

        var fromFolder = dataset.ForGateway("folder", new SiteSource { Folder = Path.Combine(dir, "folder") });
        var fromIdx = dataset.ForGateway("idx", new SiteSource { Images = images, Labels = labelFile });

        Assert.Equal(n, fromFolder.Count);
        Assert.Equal(fromIdx.ExampleShape, fromFolder.ExampleShape);
        Assert.Equal(fromIdx.Labels, fromFolder.Labels);
        Assert.Equal(fromIdx.Features, fromFolder.Features); // exactly: the same scale and standardisation
        Assert.Equal((pixels[order[0] * 784 + 400] - FashionMnist.PixelMean) / FashionMnist.PixelStd, fromFolder.Features[400]);
    }

    [Fact]
    public void Examples_come_by_class_then_by_name_and_hidden_entries_and_an_empty_class_are_skipped()
    {
        File("2/b.png", Flat(3, 2, 30));
        File("0/b.png", Flat(3, 2, 20));
        File("0/a.png", Flat(3, 2, 10));
        Directory.CreateDirectory(Path.Combine(dir, "1"));
        File(".DS_Store", "31337.4242"u8.ToArray());
        File("0/.thumbs.db", "31337.4242"u8.ToArray());
        File(".cache/7/x.png", Flat(3, 2, 99));

        var data = ImageFolder.Read(dir, classes: 4, rows: 2, cols: 3);

        Assert.Equal([0, 0, 2], data.Labels);
        Assert.Equal([1, 2, 3], data.ExampleShape);
        Assert.Equal([10 / 255f, 20 / 255f, 30 / 255f], [data.Features[0], data.Features[6], data.Features[12]]);
    }

    [Fact]
    public void A_colour_image_is_reduced_to_bt601_luminance_and_a_grey_one_stored_as_colour_keeps_its_value()
    {
        byte[] rgba = [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 77, 77, 77, 255, 10, 200, 30, 0, 255, 255, 255, 255];
        File("1/colour.png", ImageFiles.Rgba(3, 2, rgba));

        var data = ImageFolder.Read(dir, classes: 2, rows: 2, cols: 3);

        // Red, green, blue, grey 77, a transparent pixel (alpha is ignored), white.
        Assert.Equal([0.299f, 0.587f, 0.114f, 77 / 255f, (0.299f * 10 + 0.587f * 200 + 0.114f * 30) / 255, 1f], data.Features, new Tolerance(1e-6f));
        Assert.Equal(77 / 255f, data.Features[3]);
    }

    [Fact]
    public void Grey_and_colour_jpegs_are_decoded()
    {
        File("0/grey.jpg", ImageFiles.Gray(8, 8, Enumerable.Repeat((byte)128, 64).ToArray(), SKEncodedImageFormat.Jpeg));
        File("1/colour.jpeg", ImageFiles.Rgba(8, 8, Enumerable.Range(0, 64).SelectMany(_ => new byte[] { 200, 100, 50, 255 }).ToArray(), SKEncodedImageFormat.Jpeg));

        var data = ImageFolder.Read(dir, classes: 2, rows: 8, cols: 8);

        Assert.Equal([0, 1], data.Labels);
        Assert.All(data.Features[..64], f => Assert.InRange(f, 126 / 255f, 130 / 255f));
        Assert.All(data.Features[64..], f => Assert.InRange(f, (0.299f * 200 + 0.587f * 100 + 0.114f * 50 - 3) / 255, (0.299f * 200 + 0.587f * 100 + 0.114f * 50 + 3) / 255));
    }

    [Fact]
    public void A_class_folder_that_is_a_symlink_to_a_folder_elsewhere_is_followed()
    {
        var elsewhere = Path.Combine(dir, "elsewhere");
        ImageFiles.Write(Path.Combine(elsewhere, "a.png"), Flat(2, 2, 51));
        Directory.CreateDirectory(Path.Combine(dir, "site"));
        Directory.CreateSymbolicLink(Path.Combine(dir, "site", "1"), elsewhere);

        var data = ImageFolder.Read(Path.Combine(dir, "site"), classes: 2, rows: 2, cols: 2);

        Assert.Equal([1], data.Labels);
        Assert.Equal(0.2f, data.Features[0]);
    }

    private sealed class Tolerance(float within) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= within;

        public int GetHashCode(float value) => 0;
    }
}
