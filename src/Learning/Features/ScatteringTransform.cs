using System.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Features;

/// <summary>
/// The 2-D scattering transform of Bruna and Mallat (2013) with Kymatio's Morlet filter bank and per-scale
/// subsampling (Andreux et al. 2020): order 0, 1 and 2 coefficients of J scales and L orientations, so a
/// [C, H, W] image becomes [C (1 + JL + L^2 J (J - 1) / 2), H / 2^J, W / 2^J]. For J = 2, L = 8 that is 81 channels at
/// a quarter of the resolution: the fixed feature extractor of Tramer and Boneh (2021), "Differentially private
/// learning needs better features". It depends on no data, so computing it costs no privacy.
/// </summary>
/// <remarks>
/// Each wavelet modulus |x * psi| is computed in the Fourier domain at the coarsest resolution its band allows:
/// subsampling by k in space is periodising (averaging k x k aliases) in frequency, so after filtering by a wavelet of
/// scale j the signal is kept at 1 / 2^j of the padded size. The filters are built once per resolution by periodising
/// the full-size Fourier filter, as in Kymatio's filter_bank.periodize_filter_fft.
/// </remarks>
public sealed class ScatteringTransform : IDisposable
{
    private readonly int height, width, paddedHeight, paddedWidth;
    private readonly Tensor[] phi;            // phi[res]: low-pass at resolution res, [Hp / 2^res, Wp / 2^res]
    private readonly Tensor[][] psi;          // psi[j][res]: the L wavelets of scale j at resolution res, [L, Hp / 2^res, Wp / 2^res]

    public ScatteringTransform(int height, int width, int scales = 2, int orientations = 8)
    {
        if (scales < 1 || orientations < 1) throw new ArgumentException("the scattering transform needs scales >= 1 and orientations >= 1.");
        int step = 1 << scales;
        if (height % step != 0 || width % step != 0 || height < step || width < step)
            throw new ArgumentException($"scattering with J = {scales} needs image sides that are multiples of {step}; got {height}x{width}.");
        (this.height, this.width, Scales, Orientations) = (height, width, scales, orientations);
        // Kymatio's padding: at least 2^J reflected pixels on each side, rounded to a multiple of 2^J.
        paddedHeight = ((height + step) / step + 1) * step;
        paddedWidth = ((width + step) / step + 1) * step;

        using var scope = torch.NewDisposeScope();
        var phiFourier = FourierReal(Gabor(paddedHeight, paddedWidth, 0.8 * (1 << (scales - 1)), 0, 0, 1.0));
        phi = Enumerable.Range(0, scales).Select(res => Periodise(phiFourier, paddedHeight, paddedWidth, res).DetachFromDisposeScope()).ToArray();
        psi = new Tensor[scales][];
        for (int j = 0; j < scales; j++)
        {
            var filters = Enumerable.Range(0, orientations).Select(theta => FourierReal(Morlet(paddedHeight, paddedWidth, 0.8 * (1 << j),
                ((int)(orientations - orientations / 2.0 - 1) - theta) * Math.PI / orientations, 3.0 / 4.0 * Math.PI / (1 << j), 4.0 / orientations))).ToArray();
            // A wavelet of scale j is applied at resolutions 0 .. j - 1 (second order after a coarser first order).
            psi[j] = Enumerable.Range(0, Math.Max(j, 1))
                .Select(res => torch.stack(filters.Select(f => Periodise(f, paddedHeight, paddedWidth, res)).ToArray()).DetachFromDisposeScope())
                .ToArray();
        }
    }

    public int Scales { get; }
    public int Orientations { get; }

    /// <summary>Scattering channels per input channel: 1 + J L + L^2 J (J - 1) / 2.</summary>
    public int ChannelsPerInput => ChannelsFor(Scales, Orientations);

    /// <summary>Scattering channels per input channel for <paramref name="scales"/> J and <paramref name="orientations"/> L.</summary>
    public static int ChannelsFor(int scales, int orientations) => 1 + scales * orientations + orientations * orientations * scales * (scales - 1) / 2;

    /// <summary>The output shape for an input of shape [C, H, W].</summary>
    public int[] OutputShape(int channels) => [channels * ChannelsPerInput, height >> Scales, width >> Scales];

    /// <summary>Transforms a batch [B, C, H, W] to [B, C x ChannelsPerInput, H / 2^J, W / 2^J], in Kymatio's channel order.</summary>
    public Tensor Forward(Tensor images)
    {
        if (images.dim() != 4 || images.shape[2] != height || images.shape[3] != width)
            throw new ArgumentException($"scattering expects images [B, C, {height}, {width}]; got [{string.Join(", ", images.shape)}].");
        using var scope = torch.NewDisposeScope();
        long batch = images.shape[0], channels = images.shape[1];
        var x = images.to(ScalarType.Float32).reshape(batch * channels, 1, height, width);
        int top = (paddedHeight - height) / 2, left = (paddedWidth - width) / 2;
        x = torch.nn.functional.pad(x, [left, paddedWidth - width - left, top, paddedHeight - height - top], PaddingModes.Reflect).squeeze(1);
        var u0 = torch.fft.fft2(x);

        var outputs = new List<Tensor> { LowPass(u0, 0) };
        var order2 = new List<Tensor>();
        for (int j1 = 0; j1 < Scales; j1++)
        {
            // U1 = |x * psi_j1| kept at resolution j1, in the Fourier domain: [N, L, Hp / 2^j1, Wp / 2^j1].
            var u1 = torch.fft.fft2(torch.fft.ifft2(Subsample(u0.unsqueeze(1) * psi[j1][0], 1 << j1)).abs());
            outputs.Add(LowPass(u1, j1));
            var blocks = new List<Tensor>();
            for (int j2 = j1 + 1; j2 < Scales; j2++)
            {
                var u2 = Subsample(u1.unsqueeze(2) * psi[j2][j1], 1 << (j2 - j1));
                u2 = torch.fft.fft2(torch.fft.ifft2(u2).abs());
                blocks.Add(LowPass(u2, j2));
            }
            // Kymatio's order: for each first-order (j1, theta1), every second-order (j2 > j1, theta2).
            if (blocks.Count > 0) order2.Add(torch.cat(blocks, 2).flatten(1, 2));
        }
        outputs.AddRange(order2);
        var s = torch.cat(outputs.Select(o => o.dim() == 3 ? o.unsqueeze(1) : o).ToArray(), 1);
        return s.reshape(batch, channels * ChannelsPerInput, height >> Scales, width >> Scales).MoveToOuterDisposeScope();
    }

    // Low-pass a spectrum at resolution res, subsample to the final resolution 2^J and crop Kymatio's 1-pixel margin.
    private Tensor LowPass(Tensor spectrum, int res)
    {
        var s = torch.fft.ifft2(Subsample(spectrum * phi[res], 1 << (Scales - res))).real;
        return s.narrow(-2, 1, s.shape[^2] - 2).narrow(-1, 1, s.shape[^1] - 2).contiguous();
    }

    // Subsampling by k in space is the mean of the k x k periodised copies of the spectrum. Summing the k^2 blocks as
    // views is ~10x faster in libtorch than a mean over a reshaped complex tensor.
    private static Tensor Subsample(Tensor spectrum, int k)
    {
        if (k == 1) return spectrum;
        long h = spectrum.shape[^2] / k, w = spectrum.shape[^1] / k;
        // Explicit scalars stay alive across the native calls (an implicit temporary can be finalized mid-call).
        using var one = 1.0.ToScalar();
        using var blocks = ((double)(k * k)).ToScalar();
        Tensor? sum = null;
        for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++)
        {
            var block = spectrum.narrow(-2, a * h, h).narrow(-1, b * w, w);
            sum = sum is null ? block.clone() : sum.add_(block, alpha: one);
        }
        return sum!.div_(blocks);
    }

    /// <summary>Gabor filter g_sigma(u) e^(i xi . u), periodised over 5 x 5 tiles (Kymatio's gabor_2d).</summary>
    internal static Complex[,] Gabor(int m, int n, double sigma, double theta, double xi, double slant)
    {
        double c = Math.Cos(theta), s = Math.Sin(theta);
        // curv = R D R^-1 / (2 sigma^2), D = diag(1, slant^2).
        double a = (c * c + s * s * slant * slant) / (2 * sigma * sigma);
        double b = (c * s - s * c * slant * slant) / (2 * sigma * sigma);
        double d = (s * s + c * c * slant * slant) / (2 * sigma * sigma);
        var g = new Complex[m, n];
        for (int ex = -2; ex <= 2; ex++)
        for (int ey = -2; ey <= 2; ey++)
        for (int i = 0; i < m; i++)
        for (int k = 0; k < n; k++)
        {
            double xx = i + ex * m, yy = k + ey * n;
            g[i, k] += Complex.Exp(new Complex(-(a * xx * xx + 2 * b * xx * yy + d * yy * yy), xx * xi * c + yy * xi * s));
        }
        double norm = 2 * 3.1415 * sigma * sigma / slant;
        for (int i = 0; i < m; i++)
        for (int k = 0; k < n; k++) g[i, k] /= norm;
        return g;
    }

    /// <summary>Morlet wavelet: a Gabor filter minus its envelope times the constant that makes the mean exactly zero.</summary>
    internal static Complex[,] Morlet(int m, int n, double sigma, double theta, double xi, double slant)
    {
        var wave = Gabor(m, n, sigma, theta, xi, slant);
        var envelope = Gabor(m, n, sigma, theta, 0, slant);
        Complex sumWave = 0, sumEnvelope = 0;
        foreach (var v in wave) sumWave += v;
        foreach (var v in envelope) sumEnvelope += v;
        var k = sumWave / sumEnvelope;
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) wave[i, j] -= k * envelope[i, j];
        return wave;
    }

    // The filters are symmetric, so their spectra are real: keep the real part of the 2-D FFT.
    private static double[,] FourierReal(Complex[,] filter)
    {
        int m = filter.GetLength(0), n = filter.GetLength(1);
        var re = new double[m * n];
        var im = new double[m * n];
        for (int i = 0; i < m; i++)
        for (int k = 0; k < n; k++) (re[i * n + k], im[i * n + k]) = (filter[i, k].Real, filter[i, k].Imaginary);
        var spectrum = torch.fft.fft2(torch.complex(torch.tensor(re, [m, n]), torch.tensor(im, [m, n]))).real.contiguous();
        var values = spectrum.data<double>().ToArray();
        var result = new double[m, n];
        for (int i = 0; i < m; i++)
        for (int k = 0; k < n; k++) result[i, k] = values[i * n + k];
        return result;
    }

    /// <summary>
    /// The filter for signals subsampled by 2^res: zero the frequencies that alias (Kymatio's mask) and sum the 2^res x
    /// 2^res periodised copies.
    /// </summary>
    internal static Tensor Periodise(double[,] spectrum, int m, int n, int res)
    {
        int f = 1 << res, mh = m / f, nh = n / f;
        int lenX = (int)(m * (1 - Math.Pow(2, -res))), startX = (int)(m * Math.Pow(2, -res - 1));
        int lenY = (int)(n * (1 - Math.Pow(2, -res))), startY = (int)(n * Math.Pow(2, -res - 1));
        var crop = new float[mh * nh];
        for (int i = 0; i < m; i++)
        for (int k = 0; k < n; k++)
        {
            bool masked = (i >= startX && i < startX + lenX) || (k >= startY && k < startY + lenY);
            if (!masked) crop[(i % mh) * nh + k % nh] += (float)spectrum[i, k];
        }
        return torch.tensor(crop, [mh, nh]);
    }

    public void Dispose()
    {
        foreach (var t in phi) t.Dispose();
        foreach (var level in psi)
        foreach (var t in level) t.Dispose();
    }
}
