namespace FedGrains.Learning.SecureAggregation;

/// <summary>How updates become integers mod 2^Bits for a secure sum.</summary>
/// <param name="ClippingNorm">L2 bound C each update is clipped to first.</param>
/// <param name="Scale">gamma: the clipped, rotated update is multiplied by it before rounding (larger = finer, more wrap risk).</param>
/// <param name="Bits">The modulus 2^Bits of the secure sum.</param>
public sealed record SecureEncodingParameters(double ClippingNorm, double Scale, int Bits);

/// <summary>
/// The integer encoding of distributed DP under secure aggregation (Kairouz, Liu, Steinke 2021, "The Distributed
/// Discrete Gaussian Mechanism for Federated Learning with Secure Aggregation", Algorithm 1): clip to L2 norm C, rotate
/// with a randomized Walsh-Hadamard transform shared by the cohort (which flattens every coordinate, so a small modulus
/// rarely wraps), scale by gamma, round stochastically on the condition that the rounded norm stays bounded, reduce
/// mod 2^bits. <see cref="Decode"/> inverts it on the sum.
/// </summary>
public static class SecureEncoding
{
    /// <summary>Encodes one update; <paramref name="rotationSeed"/> (32 bytes) must be the same for the whole cohort.</summary>
    /// <exception cref="InvalidOperationException">Conditional rounding failed 1000 times (a parameter error: gamma or C is absurd).</exception>
    public static uint[] Encode(ReadOnlySpan<float> update, SecureEncodingParameters parameters, ReadOnlySpan<byte> rotationSeed, Random rounding)
    {
        if (!(parameters.Scale > 0) || double.IsInfinity(parameters.Scale) || !(parameters.ClippingNorm > 0))
            throw new ArgumentException($"the encoding needs a finite scale > 0 and a clipping norm > 0, got {parameters.Scale} and {parameters.ClippingNorm}");
        for (int i = 0; i < update.Length; i++)
            if (!float.IsFinite(update[i])) throw new ArgumentException($"update value {i} is {update[i]}: only finite updates can be encoded");
        int padded = PaddedLength(update.Length);
        var x = new double[padded];
        double norm = 0;
        for (int i = 0; i < update.Length; i++) { x[i] = update[i]; norm += x[i] * x[i]; }
        norm = Math.Sqrt(norm);
        double factor = parameters.Scale * (norm > parameters.ClippingNorm ? parameters.ClippingNorm / norm : 1);
        for (int i = 0; i < update.Length; i++) x[i] *= factor;
        Rotate(x, rotationSeed);

        double bound = RoundedNormBound(parameters, padded);
        var rounded = new long[padded];
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            double squared = 0;
            for (int i = 0; i < padded; i++)
            {
                double floor = Math.Floor(x[i]);
                rounded[i] = (long)floor + (rounding.NextDouble() < x[i] - floor ? 1 : 0);
                squared += (double)rounded[i] * rounded[i];
            }
            if (squared <= bound * bound)
            {
                uint keep = ModularArithmetic.Mask(parameters.Bits);
                return rounded.Select(r => (uint)r & keep).ToArray();
            }
        }
        throw new InvalidOperationException($"conditional rounding did not meet the norm bound {bound:G4} in 1000 attempts: check the clipping norm and scale");
    }

    /// <summary>Decodes a sum mod 2^bits back to <paramref name="length"/> floats (the sum of the clipped updates, up to rounding).</summary>
    public static float[] Decode(ReadOnlySpan<uint> sum, int length, SecureEncodingParameters parameters, ReadOnlySpan<byte> rotationSeed)
    {
        int padded = PaddedLength(length);
        if (sum.Length != padded) throw new ArgumentException($"a sum of {sum.Length} values where {padded} were expected for {length} parameters");
        long modulus = 1L << parameters.Bits, half = modulus / 2;
        var y = new double[padded];
        for (int i = 0; i < padded; i++)
        {
            long v = sum[i] & ModularArithmetic.Mask(parameters.Bits);
            y[i] = (v >= half ? v - modulus : v) / parameters.Scale;
        }
        InverseRotate(y, rotationSeed);
        return y.Take(length).Select(v => (float)v).ToArray();
    }

    /// <summary>The encoded length: the next power of two, as the Walsh-Hadamard transform needs.</summary>
    public static int PaddedLength(int length) => length switch
    {
        <= 1 => 1,
        > 1 << 28 => throw new ArgumentException($"{length:N0} values are more than a secure sum takes ({1 << 28:N0})"),
        _ => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)length),
    };

    /// <summary>
    /// The bound conditional rounding keeps the rounded vector's norm under (Kairouz et al. 2021, Lemma 28 with beta =
    /// exp(-1/2)): min(sqrt(c^2 + d/4 + sqrt(2 ln(1/beta)) (c + sqrt(d)/2)), c + sqrt(d)) with c = gamma C.
    /// </summary>
    public static double RoundedNormBound(SecureEncodingParameters parameters, int paddedLength)
    {
        double c = parameters.Scale * parameters.ClippingNorm, d = paddedLength;
        return Math.Min(Math.Sqrt(c * c + d / 4 + (c + Math.Sqrt(d) / 2)), c + Math.Sqrt(d));
    }

    /// <summary>
    /// An upper bound on the probability that any coordinate of the sum of <paramref name="gateways"/> encoded updates
    /// (plus per-gateway integer noise of standard deviation <paramref name="noiseStd"/>, in encoded units) leaves
    /// [-2^(bits-1), 2^(bits-1)) and wraps. Every gateway rotates with the same matrix, so the rotated sum is the
    /// rotation of the sum of the clipped updates, whose norm is up to n gamma C when the updates point the same way
    /// (real deltas are correlated): each of its coordinates is sub-Gaussian with variance proxy (n gamma C)^2 / d
    /// (Kairouz et al. 2021, Lemma 29). Rounding adds at most 1/4 and the noise its variance per gateway; a Chernoff
    /// bound per coordinate and a union bound over the d coordinates.
    /// </summary>
    public static double WrapProbabilityBound(SecureEncodingParameters parameters, int paddedLength, int gateways, double noiseStd = 0)
    {
        double c = gateways * parameters.Scale * parameters.ClippingNorm;
        double variance = c * c / paddedLength + gateways * (0.25 + noiseStd * noiseStd);
        double half = Math.Pow(2, parameters.Bits - 1);
        return Math.Min(1, 2.0 * paddedLength * Math.Exp(-half * half / (2 * variance)));
    }

    private static void Rotate(double[] x, ReadOnlySpan<byte> seed)
    {
        ApplySigns(x, seed);
        WalshHadamard(x);
    }

    private static void InverseRotate(double[] y, ReadOnlySpan<byte> seed)
    {
        WalshHadamard(y); // H/sqrt(d) is its own inverse
        ApplySigns(y, seed);
    }

    private static void ApplySigns(double[] x, ReadOnlySpan<byte> seed)
    {
        var signs = MaskStream.Expand(seed, x.Length, 1);
        for (int i = 0; i < x.Length; i++) if (signs[i] == 1) x[i] = -x[i];
    }

    /// <summary>In-place fast Walsh-Hadamard transform, normalised by 1/sqrt(d) so that it is orthogonal.</summary>
    internal static void WalshHadamard(double[] x)
    {
        for (int h = 1; h < x.Length; h *= 2)
            for (int i = 0; i < x.Length; i += 2 * h)
                for (int j = i; j < i + h; j++)
                {
                    double a = x[j], b = x[j + h];
                    x[j] = a + b;
                    x[j + h] = a - b;
                }
        double norm = 1 / Math.Sqrt(x.Length);
        for (int i = 0; i < x.Length; i++) x[i] *= norm;
    }
}
