namespace FedGrains.Learning.Privacy;

/// <summary>
/// Where every Gaussian the product draws for privacy comes from: DP-SGD's gradient noise, local update-level DP,
/// central DP at the federation, and noised metrics. One stream per release; not thread-safe.
/// </summary>
public interface INoiseSource
{
    /// <summary>Fills <paramref name="destination"/> with independent N(0, std^2) samples.</summary>
    void Fill(Span<float> destination, double std);

    /// <summary>One N(0, 1) sample.</summary>
    double Next();
}

/// <summary>
/// Makes the noise source of one release. Injected, so tests seed every stream from the job seed (reproducible runs)
/// and production seeds each from the OS's entropy, or draws from its cryptographically secure generator when the
/// job asks for secure noise.
/// </summary>
public interface INoiseSourceFactory
{
    /// <param name="purpose">What the noise is for, unique per release, e.g. "noise/gw-03/7" (a seeded factory derives the seed from it).</param>
    /// <param name="secure">The job asked for noise from a cryptographically secure generator (privacy.secure_noise).</param>
    INoiseSource Create(long jobSeed, string purpose, bool secure);
}
