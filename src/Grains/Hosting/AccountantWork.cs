namespace FedGrains.Grains.Hosting;

/// <summary>
/// Runs privacy accounting (a PRV composition or calibration takes up to seconds of CPU) off the grain scheduler, one
/// computation at a time per silo. On a small machine, several gateways calibrating at once on the thread pool would
/// otherwise starve the threads that complete storage and messaging I/O (Redis timeouts were the symptom).
/// </summary>
internal static class AccountantWork
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static async Task<T> RunAsync<T>(Func<T> work)
    {
        await Gate.WaitAsync();
        try { return await Task.Run(work); }
        finally { Gate.Release(); }
    }
}
