using TorchSharp;

namespace FedGrains.Learning;

/// <summary>Chooses the torch device and thread count for a process.</summary>
public static class TorchRuntime
{
    /// <summary>
    /// Resolves a device preference: "auto" picks CUDA when the CUDA build of TorchSharp is referenced and a GPU is
    /// visible, else CPU; "cuda" fails clearly when no GPU can be used; "cpu" always works.
    /// </summary>
    public static torch.Device SelectDevice(string preference = "auto")
    {
        switch (preference.Trim().ToLowerInvariant())
        {
            case "cpu":
                return torch.CPU;
            case "cuda":
                if (!CudaAvailable())
                    throw new InvalidOperationException(
                        "device 'cuda' was requested but no CUDA device is usable: build with -p:TorchBackend=cuda on a machine with an NVIDIA driver, or use --device cpu.");
                return torch.CUDA;
            case "auto":
                return CudaAvailable() ? torch.CUDA : torch.CPU;
            default:
                throw new ArgumentException($"device '{preference}' is not known: use auto, cpu or cuda.", nameof(preference));
        }
    }

    /// <summary>True when libtorch was built with CUDA and sees at least one GPU.</summary>
    public static bool CudaAvailable()
    {
        try { return torch.cuda.is_available(); }
        catch (Exception) { return false; }
    }

    /// <summary>Caps libtorch's intra-op threads so concurrent trainings do not oversubscribe the cores.</summary>
    public static void SetThreads(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "torch threads must be at least 1.");
        torch.set_num_threads(threads);
    }
}
