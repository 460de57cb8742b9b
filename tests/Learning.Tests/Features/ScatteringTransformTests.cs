using System.Numerics;
using FedGrains.Learning.Data;
using FedGrains.Learning.Datasets;
using FedGrains.Learning.Features;
using FedGrains.Learning.Jobs;
using TorchSharp;

namespace FedGrains.Learning.Tests.Features;

/// <summary>The ScatterNet features against a naive full-resolution implementation with spatial convolutions.</summary>
public sealed class ScatteringTransformTests
{
    [Fact]
    public void A_28x28_image_becomes_81_channels_of_7x7_in_Kymatio_order_and_channels_transform_independently()
    {
        using var scattering = new ScatteringTransform(28, 28);
        Assert.Equal(81, scattering.ChannelsPerInput);
        Assert.Equal([81, 7, 7], scattering.OutputShape(1));

        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        var two = torch.randn(3, 2, 28, 28);
        var both = scattering.Forward(two);
        Assert.Equal([3L, 162, 7, 7], both.shape);
        var first = scattering.Forward(two[.., 0..1]);
        var second = scattering.Forward(two[.., 1..2]);
        Assert.True(torch.allclose(both, torch.cat([first, second], 1), rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void The_subsampled_transform_matches_full_resolution_spatial_convolutions()
    {
        var (_, test) = FashionMnist.Load(null);
        var image = test.Features[..784];
        using var scattering = new ScatteringTransform(28, 28);
        float[] fast;
        using (var scope = torch.NewDisposeScope())
            fast = scattering.Forward(torch.tensor(image, [1, 1, 28, 28])).data<float>().ToArray();

        var naive = NaiveScattering(image, 28);
        Assert.Equal(naive.Length, fast.Length);
        // Order by order: the energy of the difference relative to the energy of the coefficients. Only the
        // subsampling of |x * psi| before its low-pass (aliasing) separates the two: measured 0 / 0.7% / 0.9%.
        foreach (var (from, count, tolerance) in new[] { (0, 49, 1e-5), (49, 16 * 49, 0.02), (17 * 49, 64 * 49, 0.02) })
        {
            double diff = 0, energy = 0;
            for (int i = from; i < from + count; i++)
            {
                diff += (fast[i] - naive[i]) * (fast[i] - naive[i]);
                energy += naive[i] * naive[i];
            }
            Assert.True(Math.Sqrt(diff / energy) < tolerance, $"coefficients {from}..{from + count}: relative error {Math.Sqrt(diff / energy):F4}");
        }
    }

    [Fact]
    public void A_scattering_job_gives_every_gateway_and_the_test_set_normalised_81x7x7_features_and_refuses_wrong_sources()
    {
        var dir = Directory.CreateTempSubdirectory("fedgrains-scatter-").FullName;
        try
        {
            // A site with 40 images of its own in the idx format, beside 29 gateways sharing Fashion-MNIST.
            var (_, fashion) = FashionMnist.Load(null);
            var pixels = fashion.Features[..(40 * 784)].Select(v => (byte)Math.Clamp(MathF.Round((v * FashionMnist.PixelStd + FashionMnist.PixelMean) * 255), 0, 255)).ToArray();
            var images = WriteIdx(dir, "images", 0x803, [40, 28, 28], pixels);
            var labels = WriteIdx(dir, "labels", 0x801, [40], fashion.Labels[..40].Select(l => (byte)l).ToArray());
            var site = new GatewaySpec { Id = "site", Source = new SiteSource { Images = images, Labels = labels } };
            var spec = new JobSpec
            {
                Gateways = [site, .. Enumerable.Range(0, 29).Select(i => new GatewaySpec { Id = $"gw-{i:D2}" })],
                Dataset = new DatasetSpec { Features = "scattering" },
            };
            Assert.Equal([81, 7, 7], spec.Dataset.Geometry().ExampleShape);
            var data = JobData.Load(spec);
            Assert.Equal([81, 7, 7], data.ExampleShape);

            var own = data.ForGateway(site);
            var shared = data.ForGateway(spec.Gateways[1]);
            Assert.Equal([81, 7, 7], own.ExampleShape);
            Assert.Equal(40, own.Count);
            Assert.Equal(60000 / 29, shared.Count);
            // The site's images are the first test images, so its features are the test set's first rows (to uint8 rounding).
            var test = data.Test;
            Assert.Equal([81, 7, 7], test.ExampleShape);
            double diff = 0, norm = 0;
            for (int i = 0; i < 40 * 3969; i++) { diff += Math.Pow(own.Features[i] - test.Features[i], 2); norm += Math.Pow(test.Features[i], 2); }
            Assert.True(Math.Sqrt(diff / norm) < 0.01, $"site features differ from the same images' by {Math.Sqrt(diff / norm):F4}");
            // Per example, each group of 3 channels is normalised to mean 0 and variance v / (v + 1e-5): 1 for the
            // order 0 and 1 groups, less for the faint second-order groups whose raw variance v is near GroupNorm's eps.
            foreach (var example in new[] { 0, shared.Count - 1 })
            for (int group = 0; group < 27; group++)
            {
                var values = shared.Features.Skip(example * 3969 + group * 147).Take(147).Select(v => (double)v).ToArray();
                Assert.InRange(values.Average(), -1e-4, 1e-4);
                Assert.InRange(values.Select(v => v * v).Average(), group < 6 ? 0.9 : 0.05, 1.0);
            }

            var wrong = WriteIdx(dir, "small", 0x803, [40, 14, 14], new byte[40 * 196]);
            var bad = spec with { Gateways = [site with { Source = new SiteSource { Images = wrong, Labels = labels } }, .. spec.Gateways.Skip(1)] };
            var error = Assert.Throws<FedGrains.Learning.Data.DataFileException>(() => JobData.Load(bad).ForGateway(bad.Gateways[0]));
            Assert.Contains("196 pixels", error.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Morlet_wavelets_have_zero_mean_and_the_low_pass_keeps_the_mean()
    {
        var morlet = ScatteringTransform.Morlet(36, 36, 0.8, Math.PI / 8, 3 * Math.PI / 4, 0.5);
        Complex sum = 0;
        foreach (var v in morlet) sum += v;
        Assert.True(sum.Magnitude < 1e-9, $"Morlet mean {sum.Magnitude}");

        var gabor = ScatteringTransform.Gabor(36, 36, 1.6, 0, 0, 1.0);
        Complex total = 0;
        foreach (var v in gabor) total += v;
        Assert.Equal(1.0, total.Real, 3); // Kymatio normalises with pi ~ 3.1415
    }

    // S0 = (x * phi)(4u), S1 = (|x * psi1| * phi)(4u), S2 = (||x * psi1| * psi2| * phi)(4u), all circular convolutions
    // on the reflect-padded 36x36 image at full resolution, then Kymatio's 1-sample crop.
    private static double[] NaiveScattering(float[] image, int side)
    {
        const int J = 2, L = 8, pad = 4;
        int n = side + 2 * pad;
        var x = new Complex[n, n];
        for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) x[i, k] = image[Reflect(i - pad, side) * side + Reflect(k - pad, side)];
        var phi = ScatteringTransform.Gabor(n, n, 0.8 * 2, 0, 0, 1.0);
        var psi = new Complex[J, L][,];
        for (int j = 0; j < J; j++)
        for (int t = 0; t < L; t++)
            psi[j, t] = ScatteringTransform.Morlet(n, n, 0.8 * (1 << j), (L - L / 2 - 1 - t) * Math.PI / L, 3.0 / 4.0 * Math.PI / (1 << j), 4.0 / L);

        var result = new List<double>();
        result.AddRange(LowPassSamples(x, phi));
        var u1 = new Complex[J, L][,];
        for (int j = 0; j < J; j++)
        for (int t = 0; t < L; t++)
        {
            u1[j, t] = Modulus(Convolve(x, psi[j, t]));
            result.AddRange(LowPassSamples(u1[j, t], phi));
        }
        for (int t1 = 0; t1 < L; t1++)
        for (int t2 = 0; t2 < L; t2++)
            result.AddRange(LowPassSamples(Modulus(Convolve(u1[0, t1], psi[1, t2])), phi));
        return result.ToArray();
    }

    private static string WriteIdx(string dir, string name, int magic, int[] dims, byte[] payload) =>
        FedGrains.Tests.IdxFiles.Write(Path.Combine(dir, name), magic, dims, payload);

    private static int Reflect(int i, int size) => i < 0 ? -i : i >= size ? 2 * size - 2 - i : i;

    private static Complex[,] Convolve(Complex[,] x, Complex[,] filter)
    {
        int n = x.GetLength(0);
        var y = new Complex[n, n];
        for (int u = 0; u < n; u++)
        for (int w = 0; w < n; w++)
        {
            Complex s = 0;
            for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++) s += x[a, b] * filter[(u - a + n) % n, (w - b + n) % n];
            y[u, w] = s;
        }
        return y;
    }

    private static Complex[,] Modulus(Complex[,] z)
    {
        var m = new Complex[z.GetLength(0), z.GetLength(1)];
        for (int i = 0; i < z.GetLength(0); i++)
        for (int k = 0; k < z.GetLength(1); k++) m[i, k] = z[i, k].Magnitude;
        return m;
    }

    private static IEnumerable<double> LowPassSamples(Complex[,] x, Complex[,] phi)
    {
        int n = x.GetLength(0);
        for (int u = 1; u < n / 4 - 1; u++)
        for (int w = 1; w < n / 4 - 1; w++)
        {
            Complex s = 0;
            for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++) s += x[a, b] * phi[(4 * u - a + n) % n, (4 * w - b + n) % n];
            yield return s.Real;
        }
    }
}
