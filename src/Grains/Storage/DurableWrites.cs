using Orleans.Storage;
using StackExchange.Redis;

namespace FedGrains.Grains.Storage;

/// <summary>
/// Grain state writes that never leave an activation ahead of its store. A grain changes its state in memory, then
/// writes it; when that write fails the copy in memory holds what nobody stored (a release, a ledger entry, a job),
/// and a later call that trusts it can hand out an update whose spend is not on record, or answer "submitted" for a
/// job that exists nowhere. So a write that fails because the store cannot be reached (redis restarting) is retried
/// with backoff for up to <see cref="Patience"/>; one that still fails, or finds a newer version stored (an earlier
/// write that landed although its answer was lost, or another activation), deactivates the activation and rethrows,
/// and the next call reads what the store really holds.
/// </summary>
internal static class DurableWrites
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(4);

    public static async Task WriteDurablyAsync<T>(this IPersistentState<T> state, IGrainBase grain, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var deadline = time.GetUtcNow() + Patience;
        for (var backoff = TimeSpan.FromMilliseconds(250); ; backoff = Min(backoff * 2, MaxBackoff))
        {
            try
            {
                await state.WriteStateAsync(CancellationToken.None);
                return;
            }
            catch (Exception e) when (Unreachable(e) && time.GetUtcNow() + backoff < deadline)
            {
                await Task.Delay(backoff, time);
            }
            catch
            {
                grain.DeactivateOnIdle();
                throw;
            }
        }
    }

    /// <summary>The store did not answer (Orleans wraps the provider's own error in an OrleansException); a version conflict is an answer.</summary>
    public static bool Unreachable(Exception e) => e is not InconsistentStateException && e is OrleansException or TimeoutException or RedisException;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
