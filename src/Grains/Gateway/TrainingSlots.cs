using FedGrains.Grains.Hosting;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Gateway;

/// <summary>Caps how many gateway trainings run at once on this silo, so they do not fight over cores or GPU memory.</summary>
public sealed class TrainingSlots(IOptions<FedGrainsSiloOptions> options) : IDisposable
{
    private readonly SemaphoreSlim slots = new(options.Value.MaxConcurrentTrainings);

    /// <summary>Waits for a free slot; dispose the result to release it.</summary>
    public async Task<IDisposable> AcquireAsync(CancellationToken cancellationToken)
    {
        await slots.WaitAsync(cancellationToken);
        return new Release(slots);
    }

    public void Dispose() => slots.Dispose();

    private sealed class Release(SemaphoreSlim slots) : IDisposable
    {
        private int done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref done, 1) == 0) slots.Release();
        }
    }
}
