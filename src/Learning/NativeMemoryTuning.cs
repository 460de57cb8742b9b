using System.Runtime.InteropServices;

namespace FedGrains.Learning;

/// <summary>
/// Keeps glibc from mmapping and unmapping every large tensor buffer. Without it each TorchSharp step page-faults
/// its way through fresh memory: steps were ~3x slower and per-example gradients ~100x slower on this machine.
/// Call once at process start (every executable and test host does).
/// </summary>
/// <remarks>
/// The thresholds help glibc's main arena. A thread-pool thread (where gateways train and compute features) gets an
/// arena of its own, whose heaps cannot grow past 64 MB, so its big buffers are mmapped afresh on every allocation.
/// Measured here, per DP step on a pool thread against the main thread: tanh CNN at batch 256 38.8 ms against 21.7 ms,
/// the ScatterNet CNN at batch 1024 200 ms against 44 ms; with MALLOC_ARENA_MAX=1 in the environment both match.
/// glibc fixes its arena limit before Main runs, so only the environment can set it: the Docker images, the scripts
/// and CI do, and <see cref="ArenaAdvice"/> says so when it is missing. Hot code also keeps its buffers under 64 MB
/// where it can (ScatterNetFeatures' batch size, PerExampleClipping's materialised limit).
/// </remarks>
public static partial class NativeMemoryTuning
{
    private const int MallocTrimThreshold = -1;
    private const int MallocMmapThreshold = -3;
    private static int applied;

    /// <summary>Raises glibc's mmap and trim thresholds to 1 GiB. Safe to call more than once; no-op off Linux.</summary>
    public static void Apply()
    {
        if (Interlocked.Exchange(ref applied, 1) == 1 || !OperatingSystem.IsLinux()) return;
        try
        {
            mallopt(MallocMmapThreshold, 1 << 30);
            mallopt(MallocTrimThreshold, 1 << 30);
        }
        catch (DllNotFoundException)
        {
            // musl or another libc without mallopt: nothing to tune.
        }
        catch (EntryPointNotFoundException)
        {
        }
    }

    /// <summary>
    /// A warning to log when the process runs on Linux without MALLOC_ARENA_MAX=1 (<paramref name="arenaMax"/> is that
    /// variable's value); null when it is set or off Linux.
    /// </summary>
    public static string? ArenaAdvice(string? arenaMax) =>
        !OperatingSystem.IsLinux() || arenaMax == "1" ? null
            : $"MALLOC_ARENA_MAX is {(arenaMax is null ? "unset" : $"'{arenaMax}'")}: training and features on thread-pool threads allocate from " +
              "small per-thread malloc arenas and run up to 4.5x slower (200 ms against 44 ms per ScatterNet CNN step). " +
              "Start the process with MALLOC_ARENA_MAX=1 in its environment (the Docker images and scripts/run-default-job.sh do).";

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int param, int value);
}
