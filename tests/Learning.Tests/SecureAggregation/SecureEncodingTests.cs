using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Learning.Tests.SecureAggregation;

public sealed class SecureEncodingTests
{
    private static readonly byte[] RotationSeed = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    private static float[] Random(int length, double scale, Random random) =>
        Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() - 0.5) * scale)).ToArray();

    private static double Norm(IEnumerable<float> v) => Math.Sqrt(v.Sum(x => (double)x * x));

    [Fact]
    public void The_walsh_hadamard_transform_matches_the_matrix_product()
    {
        const int d = 8;
        var x = Enumerable.Range(0, d).Select(i => (double)(i * i - 3)).ToArray();
        var expected = new double[d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                expected[i] += (System.Numerics.BitOperations.PopCount((uint)(i & j)) % 2 == 0 ? 1 : -1) * x[j] / Math.Sqrt(d);
        SecureEncoding.WalshHadamard(x);
        for (int i = 0; i < d; i++) Assert.Equal(expected[i], x[i], 1e-12);
    }

    [Fact]
    public void The_decoded_sum_is_the_sum_of_the_clipped_updates_up_to_rounding()
    {
        var random = new Random(3);
        var parameters = new SecureEncodingParameters(ClippingNorm: 1.0, Scale: 2000, Bits: 24);
        const int length = 300, gateways = 10;
        var updates = Enumerable.Range(0, gateways).Select(i => Random(length, i == 0 ? 10 : 0.1, random)).ToArray();
        var sum = new uint[SecureEncoding.PaddedLength(length)];
        foreach (var u in updates) ModularArithmetic.AddInPlace(sum, SecureEncoding.Encode(u, parameters, RotationSeed, random), parameters.Bits);
        var decoded = SecureEncoding.Decode(sum, length, parameters, RotationSeed);

        var expected = new double[length];
        foreach (var u in updates)
        {
            double n = Norm(u), f = n > 1 ? 1 / n : 1; // update 0 has norm ~50: clipped to 1
            for (int i = 0; i < length; i++) expected[i] += u[i] * f;
        }
        double error = Math.Sqrt(expected.Select((e, i) => (e - decoded[i]) * (e - decoded[i])).Sum());
        // Rounding adds at most sqrt(d) per update in encoded units (Kairouz et al. 2021, Lemma 28): 10 * sqrt(512) / 2000.
        Assert.True(error < gateways * Math.Sqrt(512) / parameters.Scale, $"L2 error {error}");
        Assert.True(error > 0); // it did round
    }

    [Fact]
    public void Conditional_rounding_keeps_every_encoding_inside_the_norm_bound()
    {
        var random = new Random(4);
        var parameters = new SecureEncodingParameters(1.0, 50, 16);
        double bound = SecureEncoding.RoundedNormBound(parameters, 64);
        for (int trial = 0; trial < 200; trial++)
        {
            var encoded = SecureEncoding.Encode(Random(60, 5, random), parameters, RotationSeed, random);
            double squared = encoded.Sum(v => { long c = v >= 1 << 15 ? (long)v - (1 << 16) : v; return (double)c * c; });
            Assert.True(Math.Sqrt(squared) <= bound, $"norm {Math.Sqrt(squared)} > bound {bound}");
        }
    }

    [Fact]
    public void The_wrap_bound_warns_of_a_modulus_too_small_and_clears_a_large_one()
    {
        var small = new SecureEncodingParameters(1.0, 2000, 12);
        var large = small with { Bits = 32 };
        Assert.Equal(1, SecureEncoding.WrapProbabilityBound(small, 1024, 1000));
        Assert.True(SecureEncoding.WrapProbabilityBound(large, 1024, 1000) < 1e-9);

        // The bound is honest: with a 12-bit modulus the sum of 1000 updates does wrap and decodes wrong.
        var random = new Random(5);
        var sum = new uint[1024];
        var truth = new double[1000];
        for (int g = 0; g < 1000; g++)
        {
            var u = Enumerable.Repeat(0.03f, 1000).ToArray();
            ModularArithmetic.AddInPlace(sum, SecureEncoding.Encode(u, small, RotationSeed, random), small.Bits);
            for (int i = 0; i < 1000; i++) truth[i] += u[i] / Math.Max(1, Norm(u));
        }
        var decoded = SecureEncoding.Decode(sum, 1000, small, RotationSeed);
        Assert.True(decoded.Select((v, i) => Math.Abs(v - truth[i])).Max() > 0.5);
    }
}
