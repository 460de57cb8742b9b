namespace FedGrains.Learning.Privacy;

/// <summary>
/// Composes sampled-Gaussian charges in RDP and answers epsilon for a delta. Charges with the same
/// (sample rate, noise multiplier) are merged, so the history stays short however many rounds run.
/// </summary>
public sealed class RdpAccountant
{
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
}
