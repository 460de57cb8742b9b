using System.Security.Cryptography;
using FedGrains.Learning.Privacy;

namespace FedGrains.Learning.SecureAggregation;

/// <summary>
/// What the federation and every gateway of one secure round agree on, computed alike on both sides from the job's
/// spec, the cohort size and the model's parameter count: the neighbour degree k, the threshold t, the encoding.
/// </summary>
/// <param name="Length">The encoded length (the parameter count padded to a power of two).</param>
/// <param name="WrapProbability">The bound on the chance that the round's sum wraps (<see cref="SecureEncoding.WrapProbabilityBound"/>).</param>
/// <param name="LocalNoise">The standard deviation of each gateway's discrete Gaussian noise, in encoded units (0: none).</param>
public sealed record SecureRoundPlan(int Gateways, int Neighbours, int Threshold, int Parameters, int Length, SecureEncodingParameters Encoding,
    double WrapProbability, double LocalNoise)
{
    /// <summary>The fewest deltas a sum is ever unmasked with: the threshold, and never fewer than 2.</summary>
    public int MinSurvivors => Math.Max(2, Threshold);

    /// <summary>The plan, or <see cref="ArgumentException"/> saying which setting cannot work for this cohort.</summary>
    public static SecureRoundPlan For(SecureAggregationSpec spec, int gateways, int parameters)
    {
        if (gateways < 2) throw new ArgumentException($"aggregation.secure needs a cohort of at least 2 gateways (a sum of one is that gateway's delta), got {gateways}");
        int k = spec.Neighbours == 0 ? NeighbourGraph.LogarithmicDegree(gateways) : Math.Min(spec.Neighbours, gateways - 1);
        if (k < gateways - 1 && (k < 2 || k % 2 != 0))
            throw new ArgumentException($"aggregation.secure.neighbours: {spec.Neighbours} must be 0 (auto), an even number of at least 2, or at least the cohort size - 1 ({gateways - 1}) for classic SecAgg");
        int t = spec.Threshold == 0 ? k / 2 + 1 : spec.Threshold;
        // t > k/2: otherwise t self-mask shares and t mask-key shares of one gateway could come from disjoint halves of its neighbours.
        if (2 * t <= k || t > k)
            throw new ArgumentException($"aggregation.secure.threshold: {spec.Threshold} must be more than half the neighbours per gateway and at most all of them ({k / 2 + 1}..{k} for a cohort of {gateways}), so no gateway's two secrets can be rebuilt from disjoint halves of its neighbours");
        if (spec.Bits is < 8 or > 32) throw new ArgumentException($"aggregation.secure.bits: {spec.Bits} must be in 8..32");
        if (!(spec.ClippingNorm > 0) || double.IsInfinity(spec.ClippingNorm)) throw new ArgumentException($"aggregation.secure.clipping_norm: {spec.ClippingNorm} must be > 0");
        if (!(spec.MaxWrapProbability is > 0 and < 1)) throw new ArgumentException($"aggregation.secure.max_wrap_probability: {spec.MaxWrapProbability} must be in (0, 1)");
        if (!(spec.NoiseMultiplier >= 0) || spec.NoiseMultiplier > 1000) throw new ArgumentException($"aggregation.secure.noise_multiplier: {spec.NoiseMultiplier} must be in [0, 1000] (0 = no distributed noise)");
        int length = SecureEncoding.PaddedLength(parameters);
        var encoding = new SecureEncodingParameters(spec.ClippingNorm, Scale(spec, gateways, length), spec.Bits);
        double localNoise = encoding.Scale * spec.NoiseMultiplier * spec.ClippingNorm / Math.Sqrt(gateways);
        if (!(encoding.Scale * spec.ClippingNorm / Math.Sqrt(length) >= 1))
            throw new ArgumentException($"aggregation.secure.bits: {spec.Bits} bits cannot hold the sum of {gateways} deltas of {parameters:N0} parameters at wrap probability {spec.MaxWrapProbability:G3} with any useful precision; give more bits (e.g. {Math.Min(32, spec.Bits + 8)})");
        return new SecureRoundPlan(gateways, k, t, parameters, length, encoding, SecureEncoding.WrapProbabilityBound(encoding, length, gateways, localNoise), localNoise);
    }

    /// <summary>
    /// The largest scale gamma whose wrap bound meets the target: with L = ln(2d / p), the sum's per-coordinate
    /// variance proxy (n gamma C)^2 / d + n / 4 + gamma^2 z^2 C^2 (the deltas, aligned at worst; their rounding; the
    /// noise of all n) must stay under 2^(2 bits - 2) / (2 L) (the Chernoff bound in
    /// <see cref="SecureEncoding.WrapProbabilityBound"/>, solved for gamma).
    /// </summary>
    private static double Scale(SecureAggregationSpec spec, int gateways, int length)
    {
        double half = Math.Pow(2, spec.Bits - 1), log = Math.Log(2.0 * length / spec.MaxWrapProbability);
        double room = half * half / (2 * log) - gateways / 4.0;
        double perUnit = ((double)gateways * gateways / length + spec.NoiseMultiplier * spec.NoiseMultiplier) * spec.ClippingNorm * spec.ClippingNorm;
        // 0.1% below the solution, so rounding in the bound's own arithmetic cannot put it over the target.
        return room <= 0 ? 0 : 0.999 * Math.Sqrt(room / perUnit);
    }

    /// <summary>
    /// The site-level charge of one secure sum with distributed noise, at the worst number of survivors it can be
    /// unmasked with (usually the fewest: fewer noises in the sum, more epsilon; see <see cref="DistributedDiscreteGaussian.Charge"/>): replacing a site's whole data moves its encoded delta by at most twice
    /// the rounded norm bound (as for <c>UpdateDp</c>). Null without distributed noise.
    /// </summary>
    public PrivacyCharge? Charge() => LocalNoise > 0
        ? DistributedDiscreteGaussian.Charge(2 * SecureEncoding.RoundedNormBound(Encoding, Length), LocalNoise, MinSurvivors, Length, Gateways)
        : null;

    /// <summary>The protocol's parameters for one attempt, named by <paramref name="context"/>.</summary>
    public SecAggParameters Protocol(byte[] context) => new(Encoding.Bits, Threshold, Neighbours, Length, context);

    /// <summary>
    /// A fresh context for one attempt of one round: the job, the round, the model version and 16 random bytes, so
    /// no key, share or mask of one attempt is valid in another.
    /// </summary>
    public static byte[] NewContext(string jobId, int round, long modelVersion) =>
        System.Text.Encoding.UTF8.GetBytes($"fedgrains.secagg|{jobId}|{round}|{modelVersion}|{Convert.ToHexString(RandomNumberGenerator.GetBytes(16))}");

    /// <summary>The round's rotation seed: the same for the cohort and every attempt, so a gateway encodes its delta once.</summary>
    public static byte[] RotationSeed(string jobId, int round, long modelVersion) =>
        SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"fedgrains.secagg.rotation|{jobId}|{round}|{modelVersion}"));

    /// <summary>
    /// A gateway's delta, encoded for the sum with its share of the distributed noise. Rounding and noise draw from
    /// <see cref="Generator"/>: encode once per round and keep it, since every encoding is a new noised release.
    /// </summary>
    public uint[] Encode(ReadOnlySpan<float> delta, byte[] rotationSeed, bool secureNoise)
    {
        if (delta.Length != Parameters) throw new ArgumentException($"a delta of {delta.Length} values where the model has {Parameters}");
        var random = Generator(secureNoise);
        try
        {
            var encoded = SecureEncoding.Encode(delta, Encoding, rotationSeed, random);
            if (LocalNoise > 0) DistributedDiscreteGaussian.AddNoise(encoded, LocalNoise, Encoding.Bits, random);
            return encoded;
        }
        finally { (random as IDisposable)?.Dispose(); } // wipes a secure generator's buffered draws
    }

    /// <summary>
    /// The generator of a gateway's rounding and noise: the OS's secure generator under privacy.secure_noise
    /// (<see cref="SecureRandom"/>), else xoshiro256** seeded by the OS (<c>new Random()</c>, fast and unseeded, but
    /// not unpredictable to one who sees its outputs).
    /// </summary>
    public static Random Generator(bool secureNoise) => secureNoise ? new SecureRandom() : new Random();

    /// <summary>The survivors' mean delta from their sum (each survivor counts once, as in DP-FedAvg).</summary>
    public float[] DecodeMean(ReadOnlySpan<uint> sum, int survivors, byte[] rotationSeed)
    {
        var mean = SecureEncoding.Decode(sum, Parameters, Encoding, rotationSeed);
        for (int i = 0; i < mean.Length; i++) mean[i] /= survivors;
        return mean;
    }
}
