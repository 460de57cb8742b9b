using FedGrains.Learning.Data;
using FedGrains.Learning.Features;

namespace FedGrains.Learning.Tests.Features;

public sealed class FeatureCacheTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("fedgrains-features-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Scattering_features_are_computed_once_then_read_back_identical_and_other_pixels_miss()
    {
        var cache = new FeatureCache(dir, 1L << 30);
        var images = Images(40, phase: 0);

        var computed = ScatterNetFeatures.Apply(images, cache);
        var file = Assert.Single(Directory.GetFiles(dir, "*.f32"));
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddHours(-1));
        var read = ScatterNetFeatures.Apply(images, cache);

        Assert.Equal(ScatterNetFeatures.Apply(images).Features, computed.Features);
        Assert.Equal(computed.Features, read.Features);
        Assert.Equal(computed.ExampleShape, read.ExampleShape);
        Assert.Equal(images.Labels, read.Labels);
        Assert.True(File.GetLastWriteTimeUtc(file) > DateTime.UtcNow.AddMinutes(-1), "a read marks the file as recently used");
        ScatterNetFeatures.Apply(Images(40, phase: 1), cache);
        Assert.Equal(2, Directory.GetFiles(dir, "*.f32").Length);
    }

    [Fact]
    public void A_short_file_is_computed_again_and_rewritten()
    {
        var cache = new FeatureCache(dir, 1L << 30);
        var images = Images(10, phase: 2);
        int computations = 0;
        float[] Compute() { computations++; return Enumerable.Range(0, 100).Select(i => (float)i).ToArray(); }

        cache.GetOrCompute("t", images, 100, Compute);
        var file = Assert.Single(Directory.GetFiles(dir, "*.f32"));
        cache.GetOrCompute("t", images, 100, Compute);
        Assert.Equal(1, computations);
        File.WriteAllBytes(file, new byte[12]);
        var again = cache.GetOrCompute("t", images, 100, Compute);

        Assert.Equal(2, computations);
        Assert.Equal(99f, again[99]);
        Assert.Equal(400, new FileInfo(file).Length);
        cache.GetOrCompute("another transform", images, 100, Compute);
        Assert.Equal(3, computations);
    }

    [Fact]
    public void Beyond_the_cap_the_least_recently_used_files_are_deleted()
    {
        var cache = new FeatureCache(dir, maxBytes: 1000); // room for two 400-byte entries
        float[] Values() => new float[100];
        var (a, b, c) = (Images(5, phase: 3), Images(5, phase: 4), Images(5, phase: 5));

        cache.GetOrCompute("t", a, 100, Values);
        cache.GetOrCompute("t", b, 100, Values);
        foreach (var f in Directory.GetFiles(dir)) File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddHours(-2));
        int computations = 0;
        cache.GetOrCompute("t", a, 100, () => { computations++; return Values(); }); // a is read, so now the newer
        cache.GetOrCompute("t", c, 100, Values);

        Assert.Equal(0, computations);
        Assert.Equal(2, Directory.GetFiles(dir, "*.f32").Length);
        cache.GetOrCompute("t", a, 100, () => { computations++; return Values(); });
        cache.GetOrCompute("t", b, 100, () => { computations++; return Values(); });
        Assert.Equal(1, computations); // a stayed, b (least recently used) had gone
    }

    [Fact]
    public void A_folder_that_cannot_be_written_still_gives_the_features()
    {
        string notAFolder = Path.Combine(dir, "a-file");
        File.WriteAllText(notAFolder, "");
        var cache = new FeatureCache(notAFolder, 1L << 30);

        var features = cache.GetOrCompute("t", Images(3, phase: 6), 100, () => Enumerable.Repeat(2f, 100).ToArray());

        Assert.Equal(Enumerable.Repeat(2f, 100), features);
        Assert.Equal(["a-file"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Settings_give_no_cache_a_sized_cache_or_an_error_naming_the_variable()
    {
        Assert.Null(FeatureCache.FromSettings(null, null));
        Assert.Null(FeatureCache.FromSettings(" ", "4"));
        Assert.Equal(dir, FeatureCache.FromSettings(dir, "0.5")!.Directory);
        var error = Assert.Throws<ArgumentException>(() => FeatureCache.FromSettings(dir, "lots"));
        Assert.Contains("FEDGRAINS_FEATURE_CACHE_GB='lots' is not a positive number of GB", error.Message);
    }

    private static LabeledData Images(int count, int phase) => new(
        Enumerable.Range(0, count * 784).Select(i => (float)Math.Sin(i * 0.37 + phase)).ToArray(),
        Enumerable.Range(0, count).Select(i => i % 10).ToArray(), [1, 28, 28], 10);
}
