namespace FedGrains.Learning.Privacy;

/// <summary>
/// Composes sampled-Gaussian charges in RDP and answers epsilon for a delta. Charges with the same
/// (sample rate, noise multiplier) are merged, so the history stays short however many rounds run.
/// </summary>
public sealed class RdpAccountant
{
    /// <summary>The mechanism name persisted next to the charges; checked on load.</summary>
    public const string Mechanism = "rdp-poisson-subsampled-gaussian";

    private readonly List<PrivacyCharge> charges = [];

    public RdpAccountant(IEnumerable<PrivacyCharge>? history = null)
    {
        foreach (var c in history ?? []) Record(c);
    }

    /// <summary>The composed history, merged by (sample rate, noise multiplier).</summary>
    public IReadOnlyList<PrivacyCharge> Charges => charges;

    public void Record(PrivacyCharge charge)
    {
        ArgumentNullException.ThrowIfNull(charge);
        if (charge.Steps < 0) throw new ArgumentOutOfRangeException(nameof(charge), "steps must be >= 0.");
        int k = charges.FindIndex(c => c.SampleRate == charge.SampleRate && c.NoiseMultiplier == charge.NoiseMultiplier);
        if (k >= 0) charges[k] = charges[k] with { Steps = charges[k].Steps + charge.Steps };
        else charges.Add(charge);
    }

    /// <summary>Epsilon of everything recorded, at <paramref name="delta"/>.</summary>
    public double Epsilon(double delta) => Epsilon(charges, delta);

    /// <summary>Epsilon of a composition of charges (RDP adds over compositions at each order).</summary>
    public static double Epsilon(IEnumerable<PrivacyCharge> charges, double delta)
    {
        var orders = RdpMath.DefaultOrders;
        var rdp = new double[orders.Count];
        foreach (var c in charges)
            for (int k = 0; k < orders.Count; k++)
                rdp[k] += RdpMath.Rdp(c.SampleRate, c.NoiseMultiplier, c.Steps, orders[k]);
        return RdpMath.EpsilonFromRdp(orders, rdp, delta).Epsilon;
    }

    /// <summary>Epsilon of one (sample rate, noise multiplier, steps) setting.</summary>
    public static double Epsilon(double sampleRate, double noiseMultiplier, long steps, double delta) =>
        Epsilon([new PrivacyCharge(sampleRate, noiseMultiplier, steps)], delta);

    /// <summary>
    /// The smallest noise multiplier whose epsilon after <paramref name="steps"/> is at most
    /// <paramref name="targetEpsilon"/> (bisection to a relative tolerance of 1e-4, rounded up so the target holds).
    /// </summary>
    public static double NoiseMultiplierFor(double targetEpsilon, double sampleRate, long steps, double delta)
    {
        if (!(targetEpsilon > 0) || double.IsInfinity(targetEpsilon))
            throw new ArgumentOutOfRangeException(nameof(targetEpsilon), targetEpsilon, "target epsilon must be a positive finite number, e.g. 3.");
        if (steps <= 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must be > 0.");
        double lo = 0, hi = 1;
        while (Epsilon(sampleRate, hi, steps, delta) > targetEpsilon)
        {
            lo = hi;
            hi *= 2;
            if (hi > 1e6) throw new ArgumentException($"no noise multiplier up to 1e6 reaches epsilon {targetEpsilon} with sample rate {sampleRate}, {steps} steps and delta {delta}.");
        }
        while (hi - lo > 1e-4 * hi)
        {
            double mid = (lo + hi) / 2;
            if (Epsilon(sampleRate, mid, steps, delta) > targetEpsilon) lo = mid; else hi = mid;
        }
        return hi;
    }
}
