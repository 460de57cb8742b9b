using FedGrains.Grains.Hosting;
using Microsoft.Extensions.Configuration;

namespace FedGrains.Cluster.Tests.Hosting;

public sealed class SiteOptionsTests
{
    private static SiteOptions Bind(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(SiteOptions.Section).Get<SiteOptions>() ?? new SiteOptions();

    [Fact]
    public void Without_a_policy_section_the_silo_applies_no_policy()
    {
        var site = Bind(new() { ["FedGrains:Site:LedgerPath"] = "/var/lib/fedgrains/site.db" });
        Assert.Null(site.Policy);
        Assert.Equal("/var/lib/fedgrains/site.db", site.LedgerPath);
        Assert.Empty(site.Problems());
    }

    [Fact]
    public void A_policy_reads_from_configuration_and_unset_noise_levels_mean_only_sample()
    {
        var policy = Bind(new()
        {
            ["FedGrains:Site:Policy:MinNoiseMultiplier"] = "1.0",
            ["FedGrains:Site:Policy:MaxEpsilonPerJob"] = "2",
            ["FedGrains:Site:Policy:LifetimeEpsilon"] = "8",
            ["FedGrains:Site:Policy:MaxSampleRate"] = "0.1",
            ["FedGrains:Site:Policy:MaxParameters"] = "1000000",
            ["FedGrains:Site:Policy:AllowedModelKinds:0"] = "mlp",
            ["FedGrains:Site:Policy:AllowedSubmitters:0"] = "alice",
        }).Policy!.ToPolicy();

        Assert.Equal(["sample"], policy.AllowedNoiseLevels);
        Assert.Equal((1.0, 2.0, 8.0, 0.1, 1_000_000L), (policy.MinNoiseMultiplier, policy.MaxEpsilonPerJob, policy.LifetimeEpsilon, policy.MaxSampleRate, policy.MaxParameters));
        Assert.Equal(["mlp"], policy.AllowedModelKinds!);
        Assert.Equal(["alice"], policy.AllowedSubmitters!);
        Assert.Equal("FedGrains:Site:Policy", policy.SettingPrefix);
        Assert.Equal(["sample", "none"], Bind(new() { ["FedGrains:Site:Policy:AllowedNoiseLevels:0"] = "sample", ["FedGrains:Site:Policy:AllowedNoiseLevels:1"] = "none" }).Policy!.ToPolicy().AllowedNoiseLevels);
    }

    [Fact]
    public void Bad_settings_are_named_with_the_fix()
    {
        var problems = Bind(new()
        {
            ["FedGrains:Site:LedgerPath"] = " ",
            ["FedGrains:Site:Policy:AllowedNoiseLevels:0"] = "SAMPLE",
            ["FedGrains:Site:Policy:MaxEpsilonPerJob"] = "0",
            ["FedGrains:Site:Policy:LifetimeEpsilon"] = "-1",
            ["FedGrains:Site:Policy:MinNoiseMultiplier"] = "-0.5",
            ["FedGrains:Site:Policy:MaxSampleRate"] = "1.5",
            ["FedGrains:Site:Policy:AllowedModelKinds:0"] = "rnn",
            ["FedGrains:Site:Policy:MaxParameters"] = "0",
        }).Problems().ToList();

        Assert.Equal(8, problems.Count);
        foreach (var setting in new[] { "LedgerPath", "Policy:AllowedNoiseLevels", "Policy:MaxEpsilonPerJob", "Policy:LifetimeEpsilon", "Policy:MinNoiseMultiplier", "Policy:MaxSampleRate", "Policy:AllowedModelKinds", "Policy:MaxParameters" })
            Assert.Contains(problems, p => p.StartsWith($"FedGrains:Site:{setting}", StringComparison.Ordinal));
    }

    [Fact]
    public void A_dataset_gives_exactly_one_of_csv_an_idx_pair_or_a_folder()
    {
        var site = Bind(new()
        {
            ["FedGrains:Site:Datasets:ward:Folder"] = "/srv/ward/images",
            ["FedGrains:Site:Datasets:both:Folder"] = "/srv/both/images",
            ["FedGrains:Site:Datasets:both:Csv"] = "/srv/both/rows.csv",
            ["FedGrains:Site:Datasets:half:Csv"] = "/srv/half/rows.csv",
            ["FedGrains:Site:Datasets:half:Images"] = "/srv/half/images.gz",
            ["FedGrains:Site:Datasets:idx:Images"] = "/srv/idx/images.gz",
            ["FedGrains:Site:Datasets:idx:Labels"] = "/srv/idx/labels.gz",
        });

        Assert.Equal("/srv/ward/images", site.Datasets["ward"].Folder);
        Assert.Equal(
            ["FedGrains:Site:Datasets:both must give exactly one of Csv, Images and Labels, or Folder (paths on this silo).",
             "FedGrains:Site:Datasets:half must give exactly one of Csv, Images and Labels, or Folder (paths on this silo)."],
            site.Problems().Order(StringComparer.Ordinal));
    }
}
