namespace FedGrains.Learning.Data;

/// <summary>Finds and loads Fashion-MNIST (Xiao, Rasul, Vollgraf 2017): 60,000 training and 10,000 test images.</summary>
public static class FashionMnist
{
    /// <summary>The folder the Debian package dataset-fashion-mnist installs into.</summary>
    public const string DebianPackageDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The environment variable that names a folder holding the idx files.</summary>
    public const string EnvironmentVariable = "FEDGRAINS_DATA";

    /// <summary>
    /// The folder to read from: <paramref name="dataDir"/> if given, else $FEDGRAINS_DATA, else the Debian package
    /// folder. Fails with the ways to get the files when none holds them.
    /// </summary>
    public static string Locate(string? dataDir)
    {
        var candidates = new List<(string Dir, string From)>();
        if (!string.IsNullOrWhiteSpace(dataDir)) candidates.Add((dataDir, "--data-dir"));
        else
        {
            var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(env)) candidates.Add((env, $"${EnvironmentVariable}"));
            candidates.Add((DebianPackageDirectory, "the Debian package folder"));
        }
        foreach (var (dir, _) in candidates)
            if (Find(dir, "train-images-idx3-ubyte") is not null && Find(dir, "t10k-labels-idx1-ubyte") is not null)
                return dir;
        var looked = string.Join(", ", candidates.Select(c => $"{c.Dir} ({c.From})"));
        throw new FileNotFoundException(
            $"Fashion-MNIST was not found; looked in {looked}. Install it with `sudo apt-get install -y dataset-fashion-mnist` " +
            $"(puts it in {DebianPackageDirectory}), or put train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], " +
            $"t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz] in a folder and pass --data-dir DIR or set {EnvironmentVariable}=DIR.");
    }

    /// <summary>Loads the training and test sets from <see cref="Locate"/>'s folder.</summary>
    public static (LabeledData Train, LabeledData Test) Load(string? dataDir)
    {
        var dir = Locate(dataDir);
        var train = IdxReader.ReadPair(Find(dir, "train-images-idx3-ubyte")!, Find(dir, "train-labels-idx1-ubyte")!);
        var test = IdxReader.ReadPair(Find(dir, "t10k-images-idx3-ubyte")!, Find(dir, "t10k-labels-idx1-ubyte")!);
        return (train, test);
    }

    private static string? Find(string dir, string stem)
    {
        foreach (var name in new[] { stem + ".gz", stem, stem.Replace("-idx", ".idx") })
        {
            var p = Path.Combine(dir, name);
            if (File.Exists(p)) return p;
        }
        return null;
    }
}
