using System.Diagnostics;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Datasets;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Sites;

/// <summary>A cluster whose gateway silos carry a site policy in their own configuration (FedGrains:Site:Policy).</summary>
public sealed class PolicyClusterFixture : IAsyncLifetime
{
    public static readonly SitePolicyOptions Policy = new()
    {
        MinNoiseMultiplier = 0.8,
        MaxEpsilonPerJob = 4,
        LifetimeEpsilon = 3.5,
        AllowedModelKinds = ["mlp", "cnn"],
        MaxParameters = 5_000,
    };

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Cluster = await TestCluster.StartAsync(TestCluster.NewDatabasePath(), silos: 2, silo => silo.AddFedGrainsSite(new SiteOptions { Policy = Policy }));

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>
/// A job outside the site's policy is refused at submission, naming the site, the rule and the numbers, and nothing
/// is stored; a job inside it runs; the site's own lifetime budget is enforced with the operator's, the stricter wins.
/// </summary>
public sealed class SitePolicyClusterTests(PolicyClusterFixture fixture) : IClassFixture<PolicyClusterFixture>
{
    private const string P = "FedGrains:Site:Policy";

    private IGrainFactory Grains => fixture.Cluster.Client;

    /// <summary>Two gateways on two sites; 2000 examples each at batch 100 (q = 0.05), 2 rounds: sigma 0.92 for epsilon 3.</summary>
    private static JobSpec Job(string site) => TestCluster.SyntheticJob(rounds: 2, gateways: 2) with
    {
        Gateways = [new GatewaySpec { Id = "a", Site = site }, new GatewaySpec { Id = "b", Site = site + "-b" }],
    };

    private async Task<string> RefusedAsync(string jobId, JobSpec spec)
    {
        var job = Grains.GetGrain<IFederationGrain>(jobId);
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => job.StartAsync(spec));
        // Nothing stored: the job does not exist, and no gateway joined it.
        Assert.Null(await job.GetSpecAsync());
        Assert.Equal(JobState.NotStarted, (await job.GetStatusAsync()).State);
        Assert.DoesNotContain(jobId, (await Grains.GetGrain<IJobDirectoryGrain>(0).ListAsync()).Select(j => j.JobId));
        return refused.Message;
    }

    [Fact]
    public async Task A_job_without_noise_is_refused_by_the_sites_default_noise_levels()
    {
        var message = await RefusedAsync("policy-none", Job("p-none") with { Privacy = new PrivacySpec { NoiseLevel = "none" } });
        Assert.Contains($"site p-none refuses job policy-none: noise level 'none' is not one the site allows (sample) ({P}:AllowedNoiseLevels).", message);
    }

    [Fact]
    public async Task A_noise_multiplier_below_the_sites_minimum_is_refused()
    {
        var spec = Job("p-sigma") with { Defaults = Job("p-sigma").Defaults with { NoiseMultiplier = 0.5 }, Privacy = new PrivacySpec { TargetEpsilon = 50 } };
        var message = await RefusedAsync("policy-sigma", spec);
        Assert.Contains($"site p-sigma refuses job policy-sigma: noise multiplier 0.5 is below the site's minimum 0.8 ({P}:MinNoiseMultiplier).", message);
    }

    [Fact]
    public async Task A_job_planning_more_epsilon_than_the_site_allows_per_job_is_refused()
    {
        var message = await RefusedAsync("policy-epsilon", Job("p-eps") with { Privacy = new PrivacySpec { TargetEpsilon = 4.5 } });
        Assert.Matches($@"site p-eps refuses job policy-epsilon: planned epsilon 4\.\d+ for the whole job \(delta 1E-05\) is above the site's maximum 4\.0 per job \({P}:MaxEpsilonPerJob\)\.", message);
    }

    [Fact]
    public async Task A_model_kind_the_site_does_not_train_is_refused()
    {
        var spec = Job("p-kind") with
        {
            Model = new ModelSpec("text", [8]),
            Dataset = new DatasetSpec { Kind = "synthetic-text", SyntheticTrainExamples = 4000, SyntheticTestExamples = 1000 },
        };
        var message = await RefusedAsync("policy-kind", spec);
        Assert.Contains($"site p-kind refuses job policy-kind: model kind 'text' is not one the site allows (mlp, cnn) ({P}:AllowedModelKinds).", message);
    }

    [Fact]
    public async Task A_model_with_more_parameters_than_the_site_allows_is_refused()
    {
        var message = await RefusedAsync("policy-size", Job("p-size") with { Model = new ModelSpec("mlp", [512]) });
        // 20 features -> 512 -> 4 classes.
        Assert.Contains($"site p-size refuses job policy-size: the model has 12,804 parameters, above the site's maximum 5,000 ({P}:MaxParameters).", message);
    }

    [Fact]
    public async Task A_job_inside_the_policy_runs_and_the_sites_own_lifetime_budget_refuses_the_next()
    {
        var first = Grains.GetGrain<IFederationGrain>("policy-inside");
        await first.StartAsync(Job("p-inside"));
        Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(first)).State);
        var report = await Grains.GetGrain<ISiteLedgerGrain>("p-inside").GetReportAsync();
        Assert.Equal(3.5, report.LifetimeBudget);

        // Two runs of epsilon 3 compose to 3.85 (PRV), above the site's own lifetime 3.5; the operator set no budget for this site.
        var message = await RefusedAsync("policy-second", Job("p-inside"));
        Assert.Contains("site 'p-inside' lifetime budget", message);
        Assert.Contains($"> its lifetime budget 3.5 (delta 1E-05, prv accountant; set by the site's own {P}:LifetimeEpsilon)", message);
    }

    [Fact]
    public async Task Where_the_operators_lifetime_budget_is_stricter_than_the_sites_it_refuses_and_says_so()
    {
        // The test cluster's operator gives ledger-a a lifetime budget of 3 (FedGrains:Privacy:Sites), below the site's 3.5.
        var message = await RefusedAsync("policy-operator", Job(SiteLedgerTests.UpFrontSite) with { Privacy = new PrivacySpec { TargetEpsilon = 3.5 } });
        Assert.Contains($"> its lifetime budget 3 (delta 1E-05, prv accountant; set by the operator's FedGrains:Privacy:Sites:{SiteLedgerTests.UpFrontSite})", message);
        Assert.Equal(3.0, (await Grains.GetGrain<ISiteLedgerGrain>(SiteLedgerTests.UpFrontSite).GetReportAsync()).LifetimeBudget);
    }

    /// <summary>`fedgrains run` on a silo whose configuration (here: the environment) holds the site's policy.</summary>
    [Fact]
    public async Task The_cli_exits_2_with_the_sites_refusal()
    {
        var output = Directory.CreateTempSubdirectory("fedgrains-policy-").FullName;
        try
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "fedgrains.dll"), "run", "--dataset", "synthetic", "--gateways", "2", "--rounds", "2",
                         "--hidden", "16", "--batch-size", "100", "--noise-level", "none", "--output", output, "--job-id", "cli-policy" })
                info.ArgumentList.Add(a);
            info.Environment["COLUMNS"] = "400";
            info.Environment["FedGrains__Site__Policy__MaxEpsilonPerJob"] = "4";
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await process.WaitForExitAsync(timeout.Token);
            var printed = System.Text.RegularExpressions.Regex.Replace(await stdout + await stderr, @"\s+", " ");

            Assert.True(process.ExitCode == 2, printed);
            Assert.Contains($"error: site gw-00 refuses job cli-policy: noise level 'none' is not one the site allows (sample) ({P}:AllowedNoiseLevels).", printed);
            Assert.Contains($"({P}:MaxEpsilonPerJob)", printed);
            Assert.DoesNotContain("   at ", printed);
            Assert.False(File.Exists(Path.Combine(output, "report.json")));
        }
        finally
        {
            Directory.Delete(output, true);
        }
    }
}
