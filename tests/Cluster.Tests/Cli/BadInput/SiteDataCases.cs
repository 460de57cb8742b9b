using System.IO.Compression;
using System.Text;
using FedGrains.Tests;

namespace FedGrains.Cluster.Tests.Cli.BadInput;

/// <summary>
/// A site's own data files that cannot be used: each is refused at submission naming the gateway, the file and the
/// line, column or byte offset, and never shows the file's contents (<see cref="Secret"/> is planted in every file).
/// The spec lies in the case's folder and names its files relatively, which a spec file resolves against its folder.
/// </summary>
internal static class SiteDataCases
{
    private const string Secret = "31337.4242";

    // Two features and four classes; gateway "hospital" trains on its own file next to the spec.
    private static BadInput Csv(string name, string csv, params string[] mustSay) => Csv(name, Encoding.UTF8.GetBytes(csv), mustSay);

    private static BadInput Csv(string name, byte[] csv, params string[] mustSay) =>
        Site(name, """{"csv":"site.csv"}""", mustSay).With("site.csv", csv);

    // Images of 2x2 pixels, four classes.
    private static BadInput Idx(string name, byte[] images, byte[] labels, params string[] mustSay) =>
        Site(name, """{"images":"images.idx.gz","labels":"labels.idx"}""", mustSay, features: 4).With("images.idx.gz", images).With("labels.idx", labels);

    private static BadInput Site(string name, string source, string[] mustSay, int features = 2) =>
        new BadInput(name, ["run", "--spec", "{dir}/spec.json", "--output", "{dir}/out"], ["gateway 'hospital'", .. mustSay], Secret: Secret)
            .With("spec.json", $$"""{"rounds":1,"dataset":{"kind":"synthetic","synthetic_features":{{features}}},"gateways":[{"id":"shared"},{"id":"hospital","source":{{source}}}]}""");

    private static readonly byte[] Planted = Encoding.ASCII.GetBytes(Secret);

    // A folder of images (source.folder "site") for a Fashion-MNIST job whose data_dir holds tiny idx files, so no
    // real dataset is loaded; the file names hold the secret, as a patient's id would.
    private static BadInput Folder(string name, params string[] mustSay)
    {
        var input = new BadInput(name, ["run", "--spec", "{dir}/spec.json", "--output", "{dir}/out"], ["gateway 'hospital'", .. mustSay], Secret: Secret)
            .With("spec.json", """{"rounds":1,"dataset":{"kind":"fashion-mnist","data_dir":"fmnist"},"gateways":[{"id":"hospital","source":{"folder":"site"}}]}""");
        foreach (var set in new[] { "train", "t10k" })
            input = input
                .With($"fmnist/{set}-images-idx3-ubyte", IdxBytes(0x803, [2, 28, 28], new byte[2 * 784], gzip: false))
                .With($"fmnist/{set}-labels-idx1-ubyte", IdxBytes(0x801, [2], [0, 1], gzip: false));
        return input;
    }

    private static byte[] Png(int size = 28) => ImageFiles.Gray(size, size, [.. Enumerable.Range(0, size * size).Select(i => Planted[i % Planted.Length])]);

    private static byte[] IdxBytes(int magic, int[] dims, byte[] payload, bool gzip)
    {
        var path = Path.GetTempFileName();
        try { return File.ReadAllBytes(IdxFiles.Write(path, magic, dims, payload, gzip)); }
        finally { File.Delete(path); }
    }

    private static byte[] Images(int count, bool gzip = true) =>
        IdxBytes(0x803, [count, 2, 2], [.. Enumerable.Range(0, count * 4).Select(i => Planted[i % Planted.Length])], gzip);

    private static byte[] Labels(params byte[] labels) => IdxBytes(0x801, [labels.Length], labels, gzip: false);

    public static IEnumerable<BadInput> All() =>
    [
        Csv("csv with a short row", $"1,2,0\n{Secret},1\n", "site.csv:2", "2 columns, but line 1 has 3"),
        Csv("csv with NaN", $"{Secret},NaN,0\n", "site.csv:1", "column 2 is not a finite number"),
        Csv("csv with infinity", $"{Secret},-Infinity,0\n", "site.csv:1", "column 2 is not a finite number"),
        Csv("csv with text in a feature", $"{Secret},high,0\n", "site.csv:1", "column 2 is not a number"),
        Csv("csv with a label beyond the classes", $"{Secret},1,4\n", "site.csv:1", "the label", "4 or more"),
        Csv("csv with a negative label", $"{Secret},1,-1\n", "site.csv:1", "the label", "negative"),
        Csv("csv with a fractional label", $"{Secret},1,2.5\n", "site.csv:1", "the label", "not a whole number"),
        Csv("empty csv", "", "site.csv is empty"),
        Csv("csv with only a header", "age,weight,label\n", "site.csv has a header line but no examples"),
        Csv("csv with NUL bytes", $"1,2,0\n{Secret},\0\0,1\n", "site.csv:2", "binary data"),
        Csv("csv that is not UTF-8", [.. Encoding.ASCII.GetBytes($"{Secret},1,"), 0xc3, 0x28, (byte)'\n'], "site.csv:1", "binary data"),
        Csv("csv that is one endless line", Secret + "," + new string('7', (1 << 22) + 10), "site.csv:1", "longer than"),
        Csv("csv with more features than the dataset", $"{Secret},1,2,0\n", "3 features", "the job's dataset has 2"),
        Site("csv that does not exist", """{"csv":"site.csv"}""", ["site.csv does not exist"]),
        Site("csv in a folder that does not exist", """{"csv":"nowhere/site.csv"}""", ["nowhere/site.csv does not exist, nor does the folder"]),
        Site("csv path that is a folder", """{"csv":"site.csv"}""", ["site.csv is a folder, not a file"]).With("site.csv/readme.txt", Secret),
        Idx("truncated gzip idx images", Images(4)[..30], Labels(0, 1, 2, 3), "images.idx.gz is truncated"),
        Idx("idx images with fewer pixels than announced", IdxBytes(0x803, [9, 2, 2], Planted, gzip: false), Labels(0, 1), "images.idx.gz: its header announces 9 images of 2x2 pixels", "truncated"),
        Idx("idx images with a bad magic number", [.. Planted, .. Planted], Labels(0), "is not an idx images file nor a gzip of one"),
        Idx("idx images and labels swapped", Labels(0, 1), Images(2), "is an idx labels file, not images"),
        Idx("idx images and labels of different counts", Images(3), Labels(0, 1), "has 3 images but", "has 2 labels"),
        Idx("idx labels beyond the classes", Images(2), Labels(0, 9), "labels.idx: the label of example 2 (byte offset 9) is 4 or more"),
        Idx("idx images with a corrupt gzip stream", Corrupt(Images(64)), Labels(0), "images.idx.gz is a corrupt gzip file"),
        Idx("idx images with an absurd header", IdxBytes(0x803, [int.MaxValue, 65535, 65535], Planted, gzip: true), Labels(0), "truncated or its header is corrupt"),
        Folder("image folder that does not exist", "site does not exist"),
        Folder("image folder that is a file", "site is a file, not a folder").With("site", Secret),
        Folder("image folder with no class folders", "holds no class folders", "named by its index, 0 to 9").With("site/.keep", Secret),
        Folder("image folder with a class beyond the dataset's", "class folder '10', which is not one of the job's class indexes", "named 0 to 9")
            .With("site/0/a.png", Png()).With($"site/10/patient-{Secret}.png", Png()),
        Folder("image folder with a file that is not an image", "file 2 (in name order) of class folder '3' is not an image")
            .With("site/3/0.png", Png()).With($"site/3/patient-{Secret}.txt", $"patient {Secret}\n"),
        Folder("image folder with a zero-byte image", "file 1 (in name order) of class folder '4' is empty (0 bytes)").With($"site/4/patient-{Secret}.png", []),
        Folder("image folder with a truncated png", "class folder '5' is truncated or damaged").With($"site/5/patient-{Secret}.png", Png()[..(Png().Length / 2)]),
        Folder("image folder with an image of the wrong size", "class folder '6' is 32x32 pixels", "images of 28x28", "not resized").With($"site/6/patient-{Secret}.png", Png(32)),
        Site("image folder for a dataset that is not images", """{"folder":"site"}""", ["a folder of images needs a job whose dataset is images"]).With("site/1/a.png", Png(2)),
        SharedFashionMnist(),
        ShippedExampleWithoutItsSites(),
    ];

    // Flips every bit of the deflate data (past the 10-byte gzip header), leaving the gzip framing recognisable.
    private static byte[] Corrupt(byte[] gzip)
    {
        var bytes = gzip.ToArray();
        for (int i = 12; i < bytes.Length - 8; i++) bytes[i] ^= 0xff;
        return bytes;
    }

    // A data_dir with all four Fashion-MNIST files, its training images cut off: refused as the job's dataset, before any gateway joins.
    private static BadInput SharedFashionMnist()
    {
        var input = new BadInput("fashion-mnist data_dir with truncated training images", ["run", "--spec", "{dir}/spec.json", "--output", "{dir}/out"],
            ["the job's dataset", "train-images-idx3-ubyte", "truncated"], Secret: Secret)
            .With("spec.json", """{"rounds":1,"gateway_count":2,"dataset":{"kind":"fashion-mnist","data_dir":"fmnist"}}""");
        foreach (var (set, count) in new[] { ("train", 60000), ("t10k", 1) })
            input = input
                .With($"fmnist/{set}-images-idx3-ubyte", IdxBytes(0x803, [count, 28, 28], set == "train" ? Planted : new byte[count * 784], gzip: false))
                .With($"fmnist/{set}-labels-idx1-ubyte", IdxBytes(0x801, [count], new byte[count], gzip: false));
        return input;
    }

    // docs/examples/hospitals.json copied without the site files it names: refused naming the missing file.
    private static BadInput ShippedExampleWithoutItsSites() =>
        new BadInput("the shipped example without its sites' files", ["run", "--spec", "{dir}/hospitals.json", "--output", "{dir}/out"],
            ["gateway 'hospital-", "sites/hospital-", ".csv does not exist"])
            .With("hospitals.json", File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "../../../../../docs/examples/hospitals.json")));
}
