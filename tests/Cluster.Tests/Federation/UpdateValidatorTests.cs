using FedGrains.Grains.Federation;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Codecs;

namespace FedGrains.Cluster.Tests.Federation;

public sealed class UpdateValidatorTests
{
    private static readonly GatewayPrivacy Privacy = new("gw", 1, 1e-5, 0.1, 1, 10, "sample", "rdp", 3);

    private static GatewayUpdate Update(float[] delta, long version = 3, ulong layout = 7, int examples = 100) =>
        new("gw", 1, DeltaCodec.Encode(delta, [new(delta.Length)], new CompressionSpec(), version, layout, new Random(1)), examples, 0.5, Privacy, 1, null);

    [Fact]
    public void Valid_updates_pass_and_every_kind_of_bad_one_is_refused_with_its_reason()
    {
        Assert.Null(UpdateValidator.Validate(Update([1f, 2f]), 3, 7, 2).Reason);
        Assert.Contains("not finite", UpdateValidator.Validate(Update([1f, float.NaN]), 3, 7, 2).Reason);
        Assert.Contains("not finite", UpdateValidator.Validate(Update([float.PositiveInfinity, 0f]), 3, 7, 2).Reason);
        Assert.Contains("model version 2, the current one is 3", UpdateValidator.Validate(Update([1f, 2f], version: 2), 3, 7, 2).Reason);
        Assert.Contains("different model layout", UpdateValidator.Validate(Update([1f, 2f], layout: 8), 3, 7, 2).Reason);
        Assert.Contains("has 3 values, the model has 2", UpdateValidator.Validate(Update([1f, 2f, 3f]), 3, 7, 2).Reason);
        Assert.Contains("example count", UpdateValidator.Validate(Update([1f, 2f], examples: 0), 3, 7, 2).Reason);
        var corrupt = Update([1f, 2f]);
        corrupt.Delta![20] ^= 1;
        Assert.Contains("checksum", UpdateValidator.Validate(corrupt, 3, 7, 2).Reason);
        Assert.Equal("budget", UpdateValidator.Validate(Update([1f]) with { Delta = null, RefusedReason = "budget" }, 3, 7, 1).Reason);
    }
}
