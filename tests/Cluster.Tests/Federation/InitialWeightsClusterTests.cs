using System.Security.Cryptography;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Models;

namespace FedGrains.Cluster.Tests.Federation;

/// <summary>A job started from uploaded weights, called on the grain as any client could, careless or hostile.</summary>
[Collection(nameof(SharedCluster))]
public sealed class InitialWeightsClusterTests(ClusterFixture fixture)
{
    private static readonly NamedTensor[] Layout = [new("fc1.weight", [8, 20]), new("fc1.bias", [8]), new("out.weight", [4, 8]), new("out.bias", [4])];

    private static byte[] File() => Safetensors.Write(Layout, Enumerable.Range(0, 8 * 20 + 8 + 4 * 8 + 4).Select(i => MathF.Cos(i) / 4).ToArray());

    private static Learning.Jobs.JobSpec Spec(byte[] file) => TestCluster.SyntheticJob(rounds: 1, gateways: 2) with
    {
        Model = new ModelSpec("mlp", [8]) { InitialWeights = "start.safetensors", InitialWeightsSha256 = Convert.ToHexStringLower(SHA256.HashData(file)) },
    };

    [Fact]
    public async Task The_uploaded_file_becomes_model_version_0()
    {
        var file = File();
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("initial-weights");

        await job.StartAsync(Spec(file), file);

        var version0 = WeightBuffer.Decode((await job.GetModelVersionAsync(0)).Weights).Values;
        Assert.Equal(Safetensors.Read(file).SelectMany(t => t.Values), version0);
    }

    [Fact]
    public async Task Bytes_that_are_not_the_pinned_file_or_no_file_at_all_are_refused_and_nothing_is_stored()
    {
        var file = File();
        var altered = (byte[])file.Clone();
        altered[^4] ^= 0x40; // one weight changed on the way
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("initial-weights-altered");

        var changed = await Assert.ThrowsAsync<ArgumentException>(() => job.StartAsync(Spec(file), altered));
        var missing = await Assert.ThrowsAsync<ArgumentException>(() => job.StartAsync(Spec(file)));
        var unasked = await Assert.ThrowsAsync<ArgumentException>(() => job.StartAsync(TestCluster.SyntheticJob(rounds: 1, gateways: 2), file));
        var unpinned = await Assert.ThrowsAsync<ArgumentException>(() => job.StartAsync(Spec(file) with { Model = Spec(file).Model with { InitialWeightsSha256 = null } }, file));

        Assert.Contains("but the spec pins", changed.Message);
        Assert.Contains("the submission carries none", missing.Message);
        Assert.Contains("names no model.initial_weights", unasked.Message);
        Assert.Contains("model.initial_weights_sha256", unpinned.Message);
        Assert.Equal(JobState.NotStarted, (await job.GetStatusAsync()).State);
    }

    [Fact]
    public async Task A_file_of_another_model_is_refused_with_both_lists()
    {
        var file = Safetensors.Write([new("fc1.weight", [8, 21]), new("fc1.bias", [8])], new float[8 * 21 + 8]);
        var job = fixture.Cluster.Client.GetGrain<IFederationGrain>("initial-weights-other");

        var e = await Assert.ThrowsAsync<ArgumentException>(() => job.StartAsync(Spec(file), file));

        Assert.Contains("'fc1.weight' is [8, 21] in the file but [8, 20] in the model", e.Message);
        Assert.Contains("the file has no 'out.weight', 'out.bias'", e.Message);
    }
}
