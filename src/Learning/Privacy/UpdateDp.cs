namespace FedGrains.Learning.Privacy;

/// <summary>
/// Local update-level (site-level) DP: the gateway clips its whole delta to an L2 bound C and adds N(0, (z C)^2)
/// before the delta leaves it, so even the federation sees only a noised update. The neighbouring relation is "the
/// site's entire data replaced", under which a clipped delta moves by up to 2C: each release is a Gaussian mechanism
/// with noise multiplier z / 2, and no sampling amplification applies (the site knows it takes part).
/// </summary>
public static class UpdateDp
{
    /// <summary>Clips <paramref name="delta"/> in place to L2 norm <paramref name="bound"/> and adds the noise; returns the norm before clipping.</summary>
    public static double Privatize(float[] delta, double bound, double noiseMultiplier, INoiseSource noise)
    {
        double norm = Math.Sqrt(delta.Sum(v => (double)v * v));
        double scale = norm > bound ? bound / norm : 1;
        var noised = new float[delta.Length];
        noise.Fill(noised, noiseMultiplier * bound);
        for (int i = 0; i < delta.Length; i++) delta[i] = (float)(delta[i] * scale + noised[i]);
        return norm;
    }

    /// <summary>The charge of <paramref name="releases"/> privatised updates, for the accountant (site-level adjacency).</summary>
    public static PrivacyCharge Charge(double noiseMultiplier, long releases) => new(1.0, noiseMultiplier / 2, releases, Mechanism.UpdateDp);
}
