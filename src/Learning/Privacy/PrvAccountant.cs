using System.Numerics;
using MathNet.Numerics.IntegralTransforms;
using MathNet.Numerics;

namespace FedGrains.Learning.Privacy;

/// <summary>
/// Numerical composition of privacy random variables (Gopi, Lee, Wutschitz 2021, "Numerical composition of
/// differential privacy"): each Poisson-subsampled Gaussian step's privacy loss distribution is discretised on a grid,
/// all steps are composed exactly by multiplying characteristic functions (FFT), and epsilon is read off the composed
/// distribution. The answer is a rigorous upper bound: the estimate at delta - delta_error plus epsilon_error, where
/// the grid is chosen so the discretisation error stays below epsilon_error with all but delta_error probability.
/// </summary>
/// <remarks>
/// Both neighbouring directions are composed (removing an example: the loss of the mixture against the Gaussian;
/// adding one: the reverse), and the larger delta counts, so the bound holds for add-or-remove adjacency like the RDP
/// accountant's. Cells are centred; with a density that vanishes at both ends of the grid, the discretised mean differs
/// from the continuous one by O(h^4) per step, far below epsilon_error, which is why no mean shift is applied.
/// </remarks>
public static class PrvAccountant
{
    public const string Name = "prv";

    /// <summary>Allowed error in epsilon; the result is never below the true epsilon and at most about twice this above it.</summary>
    public const double EpsilonError = 0.01;

    private const int MaxGridSize = 1 << 22;

    /// <summary>Epsilon at <paramref name="delta"/> of a composition of charges; +infinity when a charge has no noise.</summary>
    /// <param name="epsilonError">The allowed error; a larger one gives a coarser grid (faster, looser, still an upper bound).</param>
    public static double Epsilon(IEnumerable<PrivacyCharge> charges, double delta, double epsilonError = EpsilonError)
    {
        if (delta is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(delta), delta, "delta must be in (0, 1).");
        var active = charges.Where(c => c.Steps > 0 && c.SampleRate > 0).ToArray();
        if (active.Length == 0) return 0;
        if (active.Any(c => !(c.NoiseMultiplier > 0))) return double.PositiveInfinity;
        long steps = active.Sum(c => c.Steps);

        double deltaError = delta / 1000;
        double eta = deltaError / 3;
        double mesh = 2 * epsilonError / Math.Sqrt(2 * steps * Math.Log(2 / eta));
        // The grid must hold the composed loss up to beyond its delta_error/4 quantile, and a single step's loss up to
        // its delta_error/(8 T) quantile (RDP bounds both tails); what lies outside is charged to delta_error.
        double reach = Math.Max(epsilonError + RdpAccountant.Epsilon(active, deltaError / 4),
            active.Max(c => RdpAccountant.Epsilon(c.SampleRate, c.NoiseMultiplier, 1, deltaError / 8 / steps)));
        double half = 3 + reach;
        int size = (int)Math.Min(MaxGridSize, BitOperations.RoundUpToPowerOf2((ulong)Math.Ceiling(2 * half / mesh) + 2));
        mesh = Math.Max(mesh, 2 * half / (size - 2)); // a huge horizon coarsens the grid (and the error bound with it)
        double achievedError = mesh * Math.Sqrt(2 * steps * Math.Log(2 / eta)) / 2;
        var grid = new Grid(-(size / 2) * mesh, mesh, size);

        double upper = 0;
        foreach (var direction in new[] { Direction.Remove, Direction.Add })
        {
            var composed = Compose(active, grid, direction);
            upper = Math.Max(upper, EpsilonFor(composed, grid, steps, delta - deltaError) + achievedError);
        }
        return upper;
    }

    /// <summary>Epsilon of one (sample rate, noise multiplier, steps) setting.</summary>
    public static double Epsilon(double sampleRate, double noiseMultiplier, long steps, double delta) =>
        Epsilon([new PrivacyCharge(sampleRate, noiseMultiplier, steps)], delta);

    internal enum Direction { Remove, Add }

    /// <summary>Grid point i is at Start + i Mesh; cells are centred on the points.</summary>
    private readonly record struct Grid(double Start, double Mesh, int Size)
    {
        public double At(int i) => Start + i * Mesh;
    }

    /// <summary>The composed loss distribution of all charges, on the grid (circularly wrapped, tails outside are negligible).</summary>
    private static double[] Compose(IReadOnlyList<PrivacyCharge> charges, Grid grid, Direction direction)
    {
        var product = new Complex[grid.Size];
        Array.Fill(product, Complex.One);
        foreach (var c in charges)
        {
            var spectrum = Discretise(c.SampleRate, c.NoiseMultiplier, grid, direction);
            Fourier.Forward(spectrum, FourierOptions.Matlab);
            for (int k = 0; k < spectrum.Length; k++) product[k] *= Complex.Pow(spectrum[k], c.Steps);
        }
        Fourier.Inverse(product, FourierOptions.Matlab);

        // Index k of an n-fold circular convolution holds the loss n Start + k Mesh; move it back to Start + k' Mesh.
        long steps = charges.Sum(c => c.Steps);
        long offset = (long)Math.Round(-grid.Start / grid.Mesh) * (steps - 1);
        var pmf = new double[grid.Size];
        for (int k = 0; k < grid.Size; k++)
        {
            int target = (int)(((k - offset) % grid.Size + grid.Size) % grid.Size);
            pmf[target] = Math.Max(0, product[k].Real); // FFT round-off can leave tiny negatives
        }
        return pmf;
    }

    /// <summary>One step's loss distribution: the probability of each grid cell, renormalised to the grid.</summary>
    private static Complex[] Discretise(double q, double sigma, Grid grid, Direction direction)
    {
        var cells = new Complex[grid.Size];
        double previous = Survival(grid.At(0) - grid.Mesh / 2, q, sigma, direction), total = 0;
        for (int i = 0; i < grid.Size; i++)
        {
            double next = Survival(grid.At(i) + grid.Mesh / 2, q, sigma, direction);
            double p = Math.Max(0, previous - next);
            cells[i] = p;
            total += p;
            previous = next;
        }
        for (int i = 0; i < cells.Length; i++) cells[i] /= total;
        return cells;
    }

    /// <summary>
    /// P(loss > t) for one step. Remove: X ~ (1 - q) N(0, s^2) + q N(1, s^2), loss log(1 - q + q e^((2X - 1) / 2s^2)).
    /// Add: X ~ N(0, s^2), the negated loss. Written with erfc so the upper tail, which decides delta, keeps its digits.
    /// </summary>
    internal static double Survival(double t, double q, double sigma, Direction direction)
    {
        double s2 = sigma * sigma, scale = 2 * Math.Sqrt(2) * sigma;
        if (direction == Direction.Remove)
        {
            if (q < 1 && t <= Math.Log(1 - q)) return 1;
            double z = Math.Log((Math.Exp(t) - (1 - q)) / q);
            return q / 2 * SpecialFunctions.Erfc((2 * s2 * z - 1) / scale) + (1 - q) / 2 * SpecialFunctions.Erfc((2 * s2 * z + 1) / scale);
        }
        double e = Math.Exp(-t) - (1 - q);
        if (e <= 0) return 0;
        double zAdd = Math.Log(e / q);
        return SpecialFunctions.Erfc(-(2 * s2 * zAdd + 1) / scale) / 2;
    }

    /// <summary>The smallest epsilon whose discrete hockey-stick divergence sum p_i (1 - e^(eps - t_i))+ is at most delta.</summary>
    private static double EpsilonFor(double[] pmf, Grid grid, long steps, double delta)
    {
        // Tail sums from the top: mass[i] = sum_{j >= i} p_j, weighted[i] = sum_{j >= i} p_j e^(-t_j).
        int n = pmf.Length;
        var mass = new double[n + 1];
        var weighted = new double[n + 1];
        for (int i = n - 1; i >= 0; i--)
        {
            mass[i] = mass[i + 1] + pmf[i];
            weighted[i] = weighted[i + 1] + pmf[i] * Math.Exp(-grid.At(i));
        }
        double DeltaAt(double eps)
        {
            int i = Math.Clamp((int)Math.Ceiling((eps - grid.Start) / grid.Mesh), 0, n);
            return mass[i] - Math.Exp(eps) * weighted[i];
        }
        if (DeltaAt(0) <= delta) return 0;
        double lo = 0, hi = grid.At(n - 1);
        if (DeltaAt(hi) > delta)
            throw new ArgumentException($"delta {delta} is too small for this accountant's grid ({steps} steps); use a larger delta or the rdp accountant.");
        while (hi - lo > 1e-9 * Math.Max(1, hi))
        {
            double mid = (lo + hi) / 2;
            if (DeltaAt(mid) > delta) lo = mid; else hi = mid;
        }
        return hi;
    }
}
