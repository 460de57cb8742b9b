using FedGrains.Learning.Data;
using FedGrains.Learning.Datasets;
using FedGrains.Tests;

namespace FedGrains.Learning.Tests.Data;

/// <summary>A site's own files against the job's shared dataset: the feature count must match, and a site's declared dataset is named without its path.</summary>
public sealed class SiteSourceTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("fedgrains-site-source-").FullName;
    // The synthetic task with 3 features and 4 classes, one gateway sharing it.
    private readonly FederatedDataset dataset = FederatedDataset.Load(new DatasetSpec { Kind = "synthetic", SyntheticFeatures = 3, SyntheticTrainExamples = 50, SyntheticTestExamples = 10 }, 1, ["shared"]);

    public void Dispose() => Directory.Delete(dir, true);

    [Fact]
    public void A_csv_with_another_feature_count_than_the_shared_dataset_is_refused_with_both_counts()
    {
        var csv = Path.Combine(dir, "site.csv");
        File.WriteAllText(csv, "31337.4242,2,0\n1,2,3\n");

        var message = Assert.Throws<DataFileException>(() => dataset.ForGateway("h", new SiteSource { Csv = csv })).Message;

        Assert.Contains($"{csv}: its rows have 2 features (the columns before the label), but the job's dataset has 3 per example", message);
        Assert.DoesNotContain("31337.4242", message);
    }

    [Fact]
    public void Idx_images_of_another_size_are_refused_with_their_size()
    {
        var images = IdxFiles.Write(Path.Combine(dir, "images"), 0x803, [1, 2, 2], [1, 2, 3, 4]);
        var labels = IdxFiles.Write(Path.Combine(dir, "labels"), 0x801, [1], [0]);

        var message = Assert.Throws<DataFileException>(() => dataset.ForGateway("h", new SiteSource { Images = images, Labels = labels })).Message;

        Assert.Contains("its images have 2x2 = 4 pixels, but the job's dataset has 3 features per example", message);
    }

    [Fact]
    public void A_matching_csv_is_read_with_the_shared_shape()
    {
        var csv = Path.Combine(dir, "site.csv");
        File.WriteAllText(csv, "0.5,1,2,3\n");

        var data = dataset.ForGateway("h", new SiteSource { Csv = csv });

        Assert.Equal([3], data.ExampleShape);
        Assert.Equal([3], data.Labels);
    }

    [Fact]
    public void A_sites_declared_dataset_is_named_by_its_name_and_setting_never_its_path()
    {
        var csv = Path.Combine(dir, "ward", "patients.csv");

        var message = Assert.Throws<DataFileException>(() => dataset.ForGateway("w", new SiteSource { Dataset = "ward-csv", Csv = csv })).Message;

        Assert.StartsWith("site dataset 'ward-csv' (FedGrains:Site:Datasets:ward-csv:Csv) does not exist", message);
        Assert.DoesNotContain(dir, message);
        Assert.DoesNotContain("patients", message);
    }

    [Fact]
    public void A_folder_of_images_for_a_dataset_that_is_not_images_is_refused_by_the_datasets_name()
    {
        ImageFiles.Write(Path.Combine(dir, "ward", "1", "a.png"), ImageFiles.Gray(3, 1, [1, 2, 3]));

        var message = Assert.Throws<DataFileException>(() => dataset.ForGateway("w", new SiteSource { Dataset = "ward", Folder = Path.Combine(dir, "ward") })).Message;

        Assert.StartsWith("site dataset 'ward' (FedGrains:Site:Datasets:ward:Folder): a folder of images needs a job whose dataset is images", message);
        Assert.Contains("examples of 3 features", message);
        Assert.DoesNotContain(dir, message);
    }
}
