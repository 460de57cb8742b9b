using MathNet.Numerics;

namespace FedGrains.Learning.Privacy;

/// <summary>
/// Rényi DP of the Poisson-subsampled Gaussian mechanism and its conversion to (epsilon, delta).
/// </summary>
/// <remarks>
/// RDP of the sampled Gaussian: Mironov, Talwar, Zhang, "Rényi Differential Privacy of the Sampled Gaussian
/// Mechanism" (2019), Sec. 3.3 (integer orders, Eq. for A_alpha) and Sec. 3.4 (fractional orders). All sums are done
/// in log space because the terms overflow doubles for large orders. Conversion to (epsilon, delta): Balle, Barthe,
/// Gaboardi, Hsu, Sato, "Hypothesis testing interpretations and Rényi DP" (AISTATS 2020), Thm. 21, the one Opacus uses;
/// the classic conversion of Mironov (2017), Prop. 3, is kept for comparison.
/// </remarks>
public static class RdpMath
{
    /// <summary>The orders Opacus uses by default: 1.1 .. 10.9 in steps of 0.1, then 12 .. 63.</summary>
    public static IReadOnlyList<double> DefaultOrders { get; } =
        Enumerable.Range(1, 99).Select(x => 1 + x / 10.0).Concat(Enumerable.Range(12, 52).Select(x => (double)x)).ToArray();

    /// <summary>RDP at <paramref name="order"/> of <paramref name="steps"/> compositions of the sampled Gaussian.</summary>
    public static double Rdp(double sampleRate, double noiseMultiplier, long steps, double order)
    {
        if (sampleRate is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "sample rate must be in [0, 1].");
        if (noiseMultiplier < 0) throw new ArgumentOutOfRangeException(nameof(noiseMultiplier), noiseMultiplier, "noise multiplier must be >= 0.");
        if (order <= 1) throw new ArgumentOutOfRangeException(nameof(order), order, "RDP order must be > 1.");
        if (steps == 0 || sampleRate == 0) return 0;
        if (noiseMultiplier == 0) return double.PositiveInfinity;
        double perStep = sampleRate == 1.0
            ? order / (2 * noiseMultiplier * noiseMultiplier)
            : LogA(sampleRate, noiseMultiplier, order) / (order - 1);
        return perStep * steps;
    }

    /// <summary>Smallest epsilon over the orders for the given RDP curve (Balle et al. 2020 conversion).</summary>
    public static (double Epsilon, double Order) EpsilonFromRdp(IReadOnlyList<double> orders, IReadOnlyList<double> rdp, double delta)
    {
        CheckDelta(delta);
        double best = double.PositiveInfinity, bestOrder = double.NaN;
        for (int k = 0; k < orders.Count; k++)
        {
            double a = orders[k];
            double eps = rdp[k] - (Math.Log(delta) + Math.Log(a)) / (a - 1) + Math.Log((a - 1) / a);
            if (!double.IsNaN(eps) && eps < best) { best = eps; bestOrder = a; }
        }
        return (Math.Max(0, best), bestOrder);
    }

    /// <summary>The classic conversion epsilon = rdp + log(1/delta)/(alpha-1) (Mironov 2017, Prop. 3); looser.</summary>
    public static double ClassicEpsilonFromRdp(IReadOnlyList<double> orders, IReadOnlyList<double> rdp, double delta)
    {
        CheckDelta(delta);
        double best = double.PositiveInfinity;
        for (int k = 0; k < orders.Count; k++)
            best = Math.Min(best, rdp[k] - Math.Log(delta) / (orders[k] - 1));
        return best;
    }

    private static void CheckDelta(double delta)
    {
        if (delta is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(delta), delta, "delta must be in (0, 1), e.g. 1e-5.");
    }

    private static double LogA(double q, double sigma, double alpha) =>
        alpha == Math.Floor(alpha) ? LogAIntegerOrder(q, sigma, (int)alpha) : LogAFractionalOrder(q, sigma, alpha);

    // Sec. 3.3: A_alpha = sum_i binom(alpha, i) q^i (1-q)^(alpha-i) exp((i^2 - i) / (2 sigma^2)).
    private static double LogAIntegerOrder(double q, double sigma, int alpha)
    {
        double logA = double.NegativeInfinity;
        for (int i = 0; i <= alpha; i++)
        {
            double logCoef = SpecialFunctions.BinomialLn(alpha, i) + i * Math.Log(q) + (alpha - i) * Math.Log(1 - q);
            logA = LogAdd(logA, logCoef + (i * (double)i - i) / (2 * sigma * sigma));
        }
        return logA;
    }

    // Sec. 3.4: the two tails split at z0 = sigma^2 log(1/q - 1) + 1/2; generalised binomials may be negative.
    private static double LogAFractionalOrder(double q, double sigma, double alpha)
    {
        double logA0 = double.NegativeInfinity, logA1 = double.NegativeInfinity;
        double z0 = sigma * sigma * Math.Log(1 / q - 1) + 0.5;
        double logAbsCoef = 0;
        int sign = 1;
        for (int i = 0; ; i++)
        {
            if (i > 0)
            {
                // binom(alpha, i) = binom(alpha, i-1) * (alpha - i + 1) / i
                double factor = (alpha - i + 1) / i;
                if (factor < 0) sign = -sign;
                logAbsCoef += Math.Log(Math.Abs(factor));
            }
            double j = alpha - i;
            double logT0 = logAbsCoef + i * Math.Log(q) + j * Math.Log(1 - q);
            double logT1 = logAbsCoef + j * Math.Log(q) + i * Math.Log(1 - q);
            double logE0 = Math.Log(0.5) + LogErfc((i - z0) / (Math.Sqrt(2) * sigma));
            double logE1 = Math.Log(0.5) + LogErfc((z0 - j) / (Math.Sqrt(2) * sigma));
            double logS0 = logT0 + (i * (double)i - i) / (2 * sigma * sigma) + logE0;
            double logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
            if (sign > 0)
            {
                logA0 = LogAdd(logA0, logS0);
                logA1 = LogAdd(logA1, logS1);
            }
            else
            {
                logA0 = LogSub(logA0, logS0);
                logA1 = LogSub(logA1, logS1);
            }
            if (Math.Max(logS0, logS1) < -30) break;
        }
        return LogAdd(logA0, logA1);
    }

    /// <summary>log(erfc(x)) without underflow for large x (asymptotic series past x = 25).</summary>
    internal static double LogErfc(double x)
    {
        if (x < 25) return Math.Log(SpecialFunctions.Erfc(x));
        double x2 = x * x, inv = 1 / (2 * x2);
        // erfc(x) ~ exp(-x^2) / (x sqrt(pi)) * (1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6) + ...)
        double series = 1 - inv + 3 * inv * inv - 15 * inv * inv * inv;
        return -x2 - Math.Log(x) - 0.5 * Math.Log(Math.PI) + Math.Log(series);
    }

    private static double LogAdd(double logX, double logY)
    {
        double a = Math.Min(logX, logY), b = Math.Max(logX, logY);
        return double.IsNegativeInfinity(a) ? b : double.LogP1(Math.Exp(a - b)) + b;
    }

    private static double LogSub(double logX, double logY)
    {
        if (logX < logY) throw new ArithmeticException("log-space subtraction went negative: the RDP series did not converge.");
        if (double.IsNegativeInfinity(logY)) return logX;
        if (logX == logY) return double.NegativeInfinity;
        double d = double.ExpM1(logX - logY);
        return double.IsPositiveInfinity(d) ? logX : Math.Log(d) + logY;
    }
}
