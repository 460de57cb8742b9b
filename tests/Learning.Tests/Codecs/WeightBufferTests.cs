using FedGrains.Learning.Codecs;
using FedGrains.Learning.Models;

namespace FedGrains.Learning.Tests.Codecs;

public sealed class WeightBufferTests
{
    [Fact]
    public void Weights_round_trip_with_kind_version_and_layout()
    {
        var values = Enumerable.Range(0, 1000).Select(i => MathF.Sin(i) * 1e3f).Append(float.Epsilon).ToArray();

        var decoded = WeightBuffer.Decode(WeightBuffer.Encode(values, WeightKind.Delta, 17, 0xABCDEF));

        Assert.Equal(values, decoded.Values);
        Assert.Equal(WeightKind.Delta, decoded.Kind);
        Assert.Equal(17, decoded.ModelVersion);
        Assert.Equal(0xABCDEFUL, decoded.LayoutHash);
    }

    [Fact]
    public void Any_flipped_byte_or_truncation_is_detected()
    {
        var bytes = WeightBuffer.Encode(new float[100], WeightKind.Weights, 1, 2);
        for (int i = 8; i < bytes.Length; i += 37)
        {
            var corrupt = (byte[])bytes.Clone();
            corrupt[i] ^= 0x10;
            Assert.Throws<InvalidDataException>(() => WeightBuffer.Decode(corrupt));
        }
        Assert.Contains("says 100 values", Assert.Throws<InvalidDataException>(() => WeightBuffer.Decode(bytes.AsSpan(0, bytes.Length - 8))).Message);
        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => WeightBuffer.Decode(new byte[64])).Message);
    }

    [Fact]
    public void Model_weights_move_between_models_of_the_same_layout()
    {
        using var a = ModelFactory.Create(new ModelSpec("cnn"), [1, 28, 28], 10, seed: 1);
        using var b = ModelFactory.Create(new ModelSpec("cnn"), [1, 28, 28], 10, seed: 2);
        using var mlp = ModelFactory.Create(new ModelSpec("mlp", [16]), [1, 28, 28], 10, seed: 1);

        Assert.NotEqual(ModelWeights.Read(a), ModelWeights.Read(b));
        ModelWeights.Write(b, ModelWeights.Read(a));
        Assert.Equal(ModelWeights.Read(a), ModelWeights.Read(b));
        Assert.Equal(ModelWeights.LayoutHash(a), ModelWeights.LayoutHash(b));
        Assert.NotEqual(ModelWeights.LayoutHash(a), ModelWeights.LayoutHash(mlp));
        Assert.Throws<ArgumentException>(() => ModelWeights.Write(mlp, ModelWeights.Read(a)));
    }
}
