using System.IO.Compression;
using FedGrains.Learning.Data;
using FedGrains.Learning.Jobs;

namespace FedGrains.Learning.Tests.Data;

public sealed class DataTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("fedgrains-data-").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    [Fact]
    public void Iid_shards_cover_every_example_once_with_sizes_within_one_and_depend_on_the_seed()
    {
        var shards = Partitioner.Iid(1003, 10, seed: 1);

        Assert.Equal(Enumerable.Range(0, 1003), shards.SelectMany(s => s).Order());
        Assert.True(shards.Max(s => s.Length) - shards.Min(s => s.Length) <= 1);
        Assert.Equal(shards, Partitioner.Iid(1003, 10, seed: 1));
        Assert.NotEqual(shards[0], Partitioner.Iid(1003, 10, seed: 2)[0]);
    }

    [Fact]
    public void Dirichlet_shards_cover_every_example_once_and_skew_labels_more_for_smaller_alpha()
    {
        var labels = Enumerable.Range(0, 5000).Select(i => i % 10).ToArray();

        double Skew(double alpha)
        {
            var shards = Partitioner.Dirichlet(labels, 10, 8, alpha, seed: 3);
            Assert.Equal(Enumerable.Range(0, 5000), shards.SelectMany(s => s).Order());
            Assert.Equal(shards, Partitioner.Dirichlet(labels, 10, 8, alpha, seed: 3));
            // Mean share of each shard's most common label: 0.1 when balanced, 1 when single-class.
            return shards.Average(s => s.GroupBy(i => labels[i]).Max(g => g.Count()) / (double)s.Length);
        }

        double skewed = Skew(0.1), mild = Skew(100);
        Assert.True(skewed > 0.4, $"alpha 0.1 gave top-label share {skewed}");
        Assert.True(mild < 0.2, $"alpha 100 gave top-label share {mild}");
    }

    [Fact]
    public void Partitioners_refuse_impossible_splits()
    {
        Assert.Throws<ArgumentException>(() => Partitioner.Iid(3, 5, 1));
        Assert.Contains("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => Partitioner.Dirichlet([0, 1], 2, 1, 0, 1)).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Idx_pairs_round_trip_raw_and_gzip(bool gzip)
    {
        var pixels = Enumerable.Range(0, 3 * 2 * 2).Select(i => (byte)(i * 20)).ToArray();
        var images = WriteIdx("images", 0x803, [3, 2, 2], pixels, gzip);
        var labels = WriteIdx("labels", 0x801, [3], [7, 0, 9], gzip);

        var data = IdxReader.ReadPair(images, labels);

        Assert.Equal(3, data.Count);
        Assert.Equal([1, 2, 2], data.ExampleShape);
        Assert.Equal([7, 0, 9], data.Labels);
        Assert.Equal(pixels.Select(p => p / 255f), data.Features);
    }

    [Fact]
    public void A_truncated_or_foreign_idx_file_says_what_is_wrong()
    {
        var truncated = WriteIdx("images", 0x803, [10, 2, 2], new byte[5], gzip: false);
        var foreign = Path.Combine(dir, "foreign");
        File.WriteAllText(foreign, "not an idx file at all");

        Assert.Contains("truncated", Assert.Throws<DataFileException>(() => IdxReader.ReadImages(truncated)).Message);
        Assert.Contains("not an idx images file", Assert.Throws<DataFileException>(() => IdxReader.ReadImages(foreign)).Message);
    }

    [Fact]
    public void Missing_fashion_mnist_says_how_to_get_it()
    {
        var error = Assert.Throws<FileNotFoundException>(() => FashionMnist.Locate(dir));

        Assert.Contains("apt-get install -y dataset-fashion-mnist", error.Message);
        Assert.Contains("--data-dir", error.Message);
        Assert.Contains(dir, error.Message);
    }

    [Fact]
    public void A_site_csv_is_read_with_a_header_and_bad_rows_are_named_by_line()
    {
        var good = Path.Combine(dir, "site.csv");
        File.WriteAllText(good, "f1,f2,label\n0.5,1.5,1\n-2,3e-1,0\n");
        var bad = Path.Combine(dir, "bad.csv");
        File.WriteAllText(bad, "0.5,1.5,1\n0.1,0.2,7\n");

        var data = CsvSource.Read(good, classes: 2);

        Assert.Equal(2, data.Count);
        Assert.Equal([2], data.ExampleShape);
        Assert.Equal([0.5f, 1.5f, -2f, 0.3f], data.Features);
        Assert.Equal([1, 0], data.Labels);
        var error = Assert.Throws<DataFileException>(() => CsvSource.Read(bad, classes: 2));
        Assert.Contains("bad.csv:2", error.Message);
    }

    [Fact]
    public void The_synthetic_task_is_deterministic_by_seed()
    {
        var (a, _) = SyntheticTask.Generate(seed: 9, trainCount: 50, testCount: 10);
        var (b, _) = SyntheticTask.Generate(seed: 9, trainCount: 50, testCount: 10);
        var (c, _) = SyntheticTask.Generate(seed: 10, trainCount: 50, testCount: 10);

        Assert.Equal(a.Features, b.Features);
        Assert.NotEqual(a.Features, c.Features);
    }

    private string WriteIdx(string name, int magic, int[] dims, byte[] payload, bool gzip) =>
        FedGrains.Tests.IdxFiles.Write(Path.Combine(dir, name + (gzip ? ".gz" : "")), magic, dims, payload, gzip);
}

public sealed class ValidationSplitTests
{
    [Fact]
    public void A_validation_run_evaluates_on_training_examples_no_gateway_holds_and_never_reads_the_test_set()
    {
        var spec = new FedGrains.Learning.Jobs.JobSpec
        {
            GatewayCount = 4,
            Dataset = new FedGrains.Learning.Datasets.DatasetSpec { Kind = "synthetic", SyntheticTrainExamples = 1000, SyntheticTestExamples = 300, Evaluation = "validation", ValidationExamples = 200 },
        };
        var plain = JobData.Load(spec with { Dataset = spec.Dataset with { Evaluation = "test" } });
        var tuned = JobData.Load(spec);

        Assert.Equal(200, tuned.Test.Count);
        Assert.Equal(800, tuned.Train.Count);
        Assert.Equal(800, spec.ResolveGateways().Sum(g => tuned.ForGateway(g).Count));
        // Every validation example is a training example of the plain run, and none is a test example.
        static string Row(LabeledData d, int i) => string.Join(",", d.Features.Skip(i * d.FeatureCount).Take(d.FeatureCount));
        var training = Enumerable.Range(0, plain.Train.Count).Select(i => Row(plain.Train, i)).ToHashSet();
        var test = Enumerable.Range(0, plain.Test.Count).Select(i => Row(plain.Test, i)).ToHashSet();
        var gatewayRows = spec.ResolveGateways().SelectMany(g => { var d = tuned.ForGateway(g); return Enumerable.Range(0, d.Count).Select(i => Row(d, i)); }).ToHashSet();
        for (int i = 0; i < tuned.Test.Count; i++)
        {
            var row = Row(tuned.Test, i);
            Assert.Contains(row, training);
            Assert.DoesNotContain(row, test);
            Assert.DoesNotContain(row, gatewayRows);
        }
    }
}
