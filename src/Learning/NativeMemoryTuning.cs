using System.Runtime.InteropServices;

namespace FedGrains.Learning;

/// <summary>
/// Keeps glibc from mmapping and unmapping every large tensor buffer. Without it each TorchSharp step page-faults
/// its way through fresh memory: steps were ~3x slower and per-example gradients ~100x slower on this machine.
/// Call once at process start (every executable and test host does).
/// </summary>
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
