using System.Security.Cryptography;

namespace FedGrains.Learning.Privacy;

/// <summary>Production noise: each release's fast stream seeded from the OS's entropy, or the secure generator when asked.</summary>
public sealed class EntropyNoiseSources : INoiseSourceFactory
{
    public INoiseSource Create(long jobSeed, string purpose, bool secure) =>
        secure ? new SecureNoise() : new GaussianNoise(BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)));
}

/// <summary>
/// Test noise: every stream seeded from the job seed and its purpose, so a job's run is reproducible. Never use it
/// where the privacy guarantee matters: the noise is predictable. A job that asks for secure noise still gets the
/// OS's secure generator, so a silo misconfigured for tests cannot make that job's noise predictable.
/// </summary>
public sealed class SeededNoiseSources : INoiseSourceFactory
{
    public INoiseSource Create(long jobSeed, string purpose, bool secure) =>
        secure ? new SecureNoise() : new GaussianNoise((ulong)Seeds.Derive(jobSeed, purpose));
}
