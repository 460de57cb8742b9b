using System.Runtime.InteropServices;

namespace FedGrains.Learning;

/// <summary>
/// Keeps glibc from mmapping and unmapping every large tensor buffer. Without it each TorchSharp step page-faults
/// its way through fresh memory: steps were ~3x slower and per-example gradients ~100x slower on this machine.
/// Call once at process start (every executable and test host does).
/// </summary>
/// <remarks>
/// This helps the main arena. A thread-pool thread (where gateways train and compute features) gets an arena of its
/// own whose heaps cannot grow past 64 MB, so any buffer near that size is mmapped afresh on every allocation there,
/// whatever the thresholds; glibc fixes its arena limit before Main runs, so M_ARENA_MAX cannot be set from here
/// (MALLOC_ARENA_MAX=1 in the environment can). Hot code keeps its tensors well under 64 MB instead: see
/// ScatterNetFeatures' batch size and PerExampleClipping's materialised limit.
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

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int param, int value);
}
