using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.Tests.Privacy;

public sealed class NoiseSourceTests
{
    private static float[] Draw(INoiseSource noise, int n, double std = 1)
    {
        var values = new float[n];
        noise.Fill(values, std);
        return values;
    }

    [Fact]
    public void Seeded_sources_repeat_per_job_and_purpose_and_differ_between_purposes()
    {
        var seeded = new SeededNoiseSources();
        Assert.Equal(Draw(seeded.Create(42, "noise/gw-00/1", secure: false), 100), Draw(seeded.Create(42, "noise/gw-00/1", secure: false), 100));
        Assert.NotEqual(Draw(seeded.Create(42, "noise/gw-00/1", secure: false), 100), Draw(seeded.Create(42, "noise/gw-00/2", secure: false), 100));
        Assert.NotEqual(Draw(seeded.Create(42, "noise/gw-00/1", secure: false), 100), Draw(seeded.Create(43, "noise/gw-00/1", secure: false), 100));
    }

    [Fact]
    public void A_job_that_asks_for_secure_noise_gets_it_even_on_a_silo_seeded_for_tests()
    {
        Assert.IsType<SecureNoise>(new SeededNoiseSources().Create(42, "noise/gw-00/1", secure: true));
    }

    [Fact]
    public void Production_sources_never_repeat_and_are_secure_when_asked()
    {
        var entropy = new EntropyNoiseSources();
        Assert.NotEqual(Draw(entropy.Create(42, "noise/gw-00/1", secure: false), 100), Draw(entropy.Create(42, "noise/gw-00/1", secure: false), 100));
        Assert.IsType<SecureNoise>(entropy.Create(42, "noise/gw-00/1", secure: true));
        Assert.IsType<GaussianNoise>(entropy.Create(42, "noise/gw-00/1", secure: false));
    }

    [Theory]
    [InlineData(1000, 2.5)]
    [InlineData(200_000, 0.7)] // filled by several streams in parallel
    public void Fill_draws_independent_gaussians_of_the_asked_spread(int n, double std)
    {
        foreach (var noise in new INoiseSource[] { new GaussianNoise(5), new SecureNoise() })
        {
            var values = Draw(noise, n, std);
            double mean = values.Average(v => (double)v), sd = Math.Sqrt(values.Average(v => ((double)v - mean) * (v - mean)));
            Assert.InRange(mean, -5 * std / Math.Sqrt(n), 5 * std / Math.Sqrt(n));
            Assert.InRange(sd, std * (1 - 6 / Math.Sqrt(2.0 * n)), std * (1 + 6 / Math.Sqrt(2.0 * n)));
            if (n > 100_000) Assert.NotEqual(values[..1000], values[(n / 2)..(n / 2 + 1000)]); // the parallel slices differ
        }
    }

    [Fact]
    public void Next_is_a_standard_normal()
    {
        var noise = new GaussianNoise(9);
        var values = Enumerable.Range(0, 20_000).Select(_ => noise.Next()).ToArray();
        Assert.InRange(values.Average(), -0.04, 0.04);
        Assert.InRange(values.Average(v => v * v), 0.96, 1.04);
    }
}
