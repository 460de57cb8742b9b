using FedGrains.Learning.Jobs;

namespace FedGrains.Learning.Tests.Jobs;

/// <summary>A spec file's relative paths are relative to the file's folder, so it means the same from any working directory.</summary>
public sealed class SpecPathTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("fedgrains-spec-paths-").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    [Fact]
    public void Relative_source_paths_and_data_dir_resolve_against_the_spec_folder_and_absolute_ones_stay()
    {
        var spec = Path.Combine(dir, "job.json");
        File.WriteAllText(spec, """
            { "dataset": { "kind": "fashion-mnist", "data_dir": "fmnist" },
              "gateways": [ { "id": "a", "source": { "csv": "sites/a.csv" } },
                            { "id": "b", "source": { "images": "/srv/b/images.gz", "labels": "../b/labels" } },
                            { "id": "c" },
                            { "id": "d", "source": { "folder": "sites/d" } } ] }
            """);

        var loaded = JobSpecJson.Load(spec);

        Assert.Equal(Path.Join(dir, "fmnist"), loaded.Dataset.DataDir);
        Assert.Equal(Path.Join(dir, "sites/a.csv"), loaded.Gateways![0].Source!.Csv);
        Assert.Equal("/srv/b/images.gz", loaded.Gateways[1].Source!.Images);
        Assert.Equal(Path.Join(dir, "../b/labels"), loaded.Gateways[1].Source!.Labels);
        Assert.Null(loaded.Gateways[2].Source);
        Assert.Null(loaded.Gateways[0].Source!.Images);
        Assert.Equal(Path.Join(dir, "sites/d"), loaded.Gateways[3].Source!.Folder);
    }

    [Fact]
    public void A_spec_without_paths_loads_unchanged()
    {
        var spec = Path.Combine(dir, "job.json");
        File.WriteAllText(spec, """{ "rounds": 2, "dataset": { "kind": "synthetic" } }""");

        var loaded = JobSpecJson.Load(spec);

        Assert.Equal(JobSpecJson.Serialize(JobSpecJson.Parse(File.ReadAllText(spec))), JobSpecJson.Serialize(loaded));
    }
}
