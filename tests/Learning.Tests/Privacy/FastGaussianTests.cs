using FedGrains.Learning.Privacy;
using MathNet.Numerics.Distributions;

namespace FedGrains.Learning.Tests.Privacy;

/// <summary>The default DP noise source must be a faithful N(0, std^2): moments, shape, tails, independence.</summary>
public sealed class FastGaussianTests
{
    private const int Samples = 2_000_000;

    [Fact]
    public void Samples_have_the_normal_distribution_by_moments_and_Kolmogorov_Smirnov()
    {
        var values = new float[Samples];
        new FastGaussian(7).Fill(values, 2.5f);
        double mean = values.Average(v => (double)v);
        double variance = values.Sum(v => (v - mean) * (v - mean)) / (Samples - 1);
        double fourth = values.Sum(v => Math.Pow((v - mean) / 2.5, 4)) / Samples;
        // Five standard errors: mean se = sigma / sqrt(n), variance se = sigma^2 sqrt(2 / n), kurtosis se = sqrt(96 / n).
        Assert.InRange(mean, -5 * 2.5 / Math.Sqrt(Samples), 5 * 2.5 / Math.Sqrt(Samples));
        Assert.InRange(variance, 6.25 * (1 - 5 * Math.Sqrt(2.0 / Samples)), 6.25 * (1 + 5 * Math.Sqrt(2.0 / Samples)));
        Assert.InRange(fourth, 3 - 5 * Math.Sqrt(96.0 / Samples), 3 + 5 * Math.Sqrt(96.0 / Samples));

        var sorted = values.Select(v => v / 2.5).OrderBy(v => v).ToArray();
        double d = 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            double cdf = Normal.CDF(0, 1, sorted[i]);
            d = Math.Max(d, Math.Max(cdf - (double)i / sorted.Length, (double)(i + 1) / sorted.Length - cdf));
        }
        Assert.True(d < 1.95 / Math.Sqrt(Samples), $"Kolmogorov-Smirnov D = {d} (critical value at 0.1%: {1.95 / Math.Sqrt(Samples)})");
    }

    [Fact]
    public void Tails_match_the_normal_out_to_five_sigma()
    {
        var values = new float[Samples];
        new FastGaussian(11).Fill(values, 1f);
        foreach (var z in new[] { 2.0, 3.0, 4.0, 4.5 })
        {
            double expected = 2 * (1 - Normal.CDF(0, 1, z)) * Samples;
            int observed = values.Count(v => Math.Abs(v) > z);
            // Poisson counts: within 5 standard deviations (and at least a few events of slack).
            Assert.InRange(observed, expected - 5 * Math.Sqrt(expected) - 3, expected + 5 * Math.Sqrt(expected) + 3);
        }
    }

    [Fact]
    public void Neighbouring_values_are_uncorrelated()
    {
        var values = new float[Samples];
        new FastGaussian(13).Fill(values, 1f);
        // Lag 1 crosses lanes, lag 8 pairs cosine with sine of the same draw, lag 16 the next draw of the same lane.
        foreach (var lag in new[] { 1, 4, 8, 16 })
        {
            double sum = 0;
            for (int i = 0; i + lag < values.Length; i++) sum += values[i] * values[i + lag];
            double correlation = sum / (values.Length - lag);
            Assert.True(Math.Abs(correlation) < 5 / Math.Sqrt(Samples), $"lag {lag}: correlation {correlation}");
        }
    }

    [Fact]
    public void The_log_and_quarter_turn_sine_and_cosine_are_accurate_to_float_precision()
    {
        double worstLog = 0, worstTrig = 0;
        for (int k = 0; k < 100_000; k++)
        {
            // u from 2^-32 to 1 on a log scale, as the radius draws them.
            float u = (float)Math.Pow(2, -32.0 * k / 100_000);
            double log = FastGaussian.Log(System.Runtime.Intrinsics.Vector256.Create(u))[0];
            worstLog = Math.Max(worstLog, Math.Abs(log - Math.Log(u)) / Math.Max(1, Math.Abs(Math.Log(u))));
            float x = (float)(-Math.PI / 4 + Math.PI / 2 * k / 100_000);
            var (sin, cos) = FastGaussian.QuarterSinCos(System.Runtime.Intrinsics.Vector256.Create(x));
            worstTrig = Math.Max(worstTrig, Math.Max(Math.Abs(sin[0] - Math.Sin(x)), Math.Abs(cos[0] - Math.Cos(x))));
        }
        Assert.True(worstLog < 3e-7, $"log relative error {worstLog}");
        Assert.True(worstTrig < 3e-7, $"sin/cos error {worstTrig}");
    }

    [Fact]
    public void A_seed_gives_one_stream_and_every_length_is_filled()
    {
        var a = new float[1000];
        var b = new float[1000];
        new FastGaussian(5).Fill(a, 1f);
        new FastGaussian(5).Fill(b, 1f);
        Assert.Equal(a, b);
        new FastGaussian(6).Fill(b, 1f);
        Assert.NotEqual(a, b);

        // The per-core streams of one seed are different and uncorrelated.
        var streams = FastGaussian.Streams(5, 2);
        var first = new float[Samples / 4];
        var second = new float[Samples / 4];
        streams[0].Fill(first, 1f);
        streams[1].Fill(second, 1f);
        double cross = first.Zip(second, (u, v) => (double)u * v).Average();
        Assert.True(Math.Abs(cross) < 5 / Math.Sqrt(first.Length), $"streams correlate: {cross}");

        foreach (var length in new[] { 1, 15, 16, 17, 203_530 })
        {
            var values = new float[length + 1];
            values[length] = float.NaN; // a sentinel past the end must survive
            new FastGaussian(9).Fill(values.AsSpan(0, length), 1f);
            Assert.True(float.IsNaN(values[length]));
            Assert.All(values[..length], v => Assert.True(float.IsFinite(v) && v != 0));
        }
    }
}
