using System.IO.Hashing;
using System.Text;

namespace FedGrains.Learning;

/// <summary>Derives every seed of a job from its one job seed, so a job is reproducible from its spec.</summary>
public static class Seeds
{
    /// <summary>A 64-bit seed for <paramref name="purpose"/> (e.g. "partition", "init", "sampling/gw-03/round-7").</summary>
    public static long Derive(long jobSeed, string purpose) =>
        unchecked((long)XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(purpose), jobSeed));

    /// <summary>A 32-bit seed for System.Random.</summary>
    public static int Derive32(long jobSeed, string purpose) => unchecked((int)Derive(jobSeed, purpose));
}
