using FedGrains.Learning.Codecs;

namespace FedGrains.Learning.Tests.Codecs;

public sealed class DeltaCodecTests
{
    private static float[] RandomDelta(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() - 0.5) * 0.02)).ToArray();
    }

    [Fact]
    public void Uncompressed_deltas_round_trip_exactly()
    {
        var delta = RandomDelta(1000, 1);
        var decoded = DeltaCodec.Decode(DeltaCodec.Encode(delta, [new(600), new(400)], new CompressionSpec(), 7, 42, new Random(1)));

        Assert.Equal(delta, decoded.Values);
        Assert.Equal(7, decoded.ModelVersion);
        Assert.Equal(42UL, decoded.LayoutHash);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    [InlineData(11)]
    public void Quantization_error_is_below_one_step_and_unbiased_and_small_tensors_stay_exact(int bits)
    {
        var delta = RandomDelta(30000, 2);
        var small = RandomDelta(100, 3);
        var spec = new CompressionSpec { Kind = "quantize", Bits = bits, MinSize = 20000 };
        double step = (delta.Max() - delta.Min()) / ((1 << bits) - 1);
        float[] all = [.. delta, .. small];

        var sum = new double[all.Length];
        const int trials = 200;
        var rounding = new Random(9); // one stream: System.Random instances with consecutive seeds are correlated
        for (int t = 0; t < trials; t++)
        {
            var bytes = DeltaCodec.Encode(all, [new(delta.Length), new(small.Length)], spec, 1, 1, rounding);
            var decoded = DeltaCodec.Decode(bytes).Values;
            for (int i = 0; i < delta.Length; i++) Assert.True(Math.Abs(decoded[i] - delta[i]) <= step * 1.0001, $"value {i}: error {decoded[i] - delta[i]} > step {step}");
            Assert.Equal(small, decoded[delta.Length..]);
            for (int i = 0; i < all.Length; i++) sum[i] += decoded[i];
        }
        // Unbiased: the mean of 200 decodings is within ~4 standard errors (step / 2 / sqrt(200)) of the value.
        double bound = 4 * step / 2 / Math.Sqrt(trials);
        int off = Enumerable.Range(0, delta.Length).Count(i => Math.Abs(sum[i] / trials - delta[i]) > bound);
        double meanBias = Enumerable.Range(0, delta.Length).Average(i => sum[i] / trials - delta[i]);
        Assert.True(off < delta.Length / 1000, $"{off} coordinates off by more than {bound}; mean bias {meanBias}, step {step}");
    }

    [Fact]
    public void Eight_bit_uploads_are_under_three_tenths_of_float32()
    {
        var delta = RandomDelta(203530, 4);
        var dense = DeltaCodec.Encode(delta, [new(200960), new(2570)], new CompressionSpec(), 1, 1, new Random(1));
        var quantized = DeltaCodec.Encode(delta, [new(200960), new(2570)], new CompressionSpec { Kind = "quantize" }, 1, 1, new Random(1));

        Assert.True(quantized.Length < 0.3 * dense.Length, $"{quantized.Length} vs {dense.Length}");
    }

    [Fact]
    public void Top_k_keeps_exactly_the_largest_magnitudes_and_threshold_drops_the_small_ones()
    {
        var delta = RandomDelta(40000, 5);
        var topK = DeltaCodec.Decode(DeltaCodec.Encode(delta, [new(40000)], new CompressionSpec { Kind = "top_k", TopKFraction = 0.05 }, 1, 1, new Random(1))).Values;
        var threshold = DeltaCodec.Decode(DeltaCodec.Encode(delta, [new(40000)], new CompressionSpec { Kind = "threshold", Threshold = 0.009 }, 1, 1, new Random(1))).Values;

        var largest = Enumerable.Range(0, delta.Length).OrderByDescending(i => Math.Abs(delta[i])).Take(2000).ToHashSet();
        for (int i = 0; i < delta.Length; i++)
        {
            Assert.Equal(largest.Contains(i) ? delta[i] : 0f, topK[i]);
            Assert.Equal(Math.Abs(delta[i]) >= 0.009 ? delta[i] : 0f, threshold[i]);
        }
    }

    [Fact]
    public void Corrupted_or_truncated_deltas_are_refused()
    {
        var bytes = DeltaCodec.Encode(RandomDelta(30000, 6), [new(30000)], new CompressionSpec { Kind = "quantize" }, 1, 1, new Random(1));
        var corrupt = (byte[])bytes.Clone();
        corrupt[100] ^= 4;

        Assert.Contains("checksum", Assert.Throws<InvalidDataException>(() => DeltaCodec.Decode(corrupt)).Message);
        Assert.Throws<InvalidDataException>(() => DeltaCodec.Decode(bytes[..20]));
        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => DeltaCodec.Decode(new byte[64])).Message);
    }
}
