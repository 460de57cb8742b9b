using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Placement;

namespace FedGrains.Grains.Federation;

/// <summary>Asks one gateway to train and turns every way that can end into a <see cref="ReceivedUpdate"/>.</summary>
internal static class GatewayCalls
{
    public static async Task<ReceivedUpdate> AskAsync(IRoundHost host, string gatewayId, RoundTask task, double timeoutSeconds, CancellationToken cancellationToken)
    {
        try
        {
            var update = await SiteCalls.CallAsync(host.SiteOf(gatewayId), () => SiteCalls.Gateway(host.GrainFactory, host.JobId, gatewayId).TrainAsync(task, cancellationToken));
            host.Notify(o => o.UpdateReceived(gatewayId, task.Sequence, update.Delta?.Length ?? 0, update.Delta is not null));
            return new ReceivedUpdate(gatewayId, update, null, task.ModelVersion);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
            return new ReceivedUpdate(gatewayId, null, host.JobCancellation.IsCancellationRequested ? "job cancelled" : $"no answer within round_timeout_seconds={timeoutSeconds}", task.ModelVersion);
        }
        catch (InvalidDataException)
        {
            throw; // the gateway's state is lost or inconsistent with its site's: the job stops (RoundTicker), it is no dropout
        }
        catch (SiteOfflineException e)
        {
            return new ReceivedUpdate(gatewayId, null, e.Message, task.ModelVersion); // a dropout of this round; the site rejoins when its silo is back
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException and not ObjectDisposedException)
        {
            // The gateway was reached and refused (its own checks, e.g. training diverged): retrying soon will not help.
            return new ReceivedUpdate(gatewayId, null, e.Message, task.ModelVersion, Refused: true);
        }
        catch (Exception e)
        {
            return new ReceivedUpdate(gatewayId, null, $"{e.GetType().Name}: {e.Message}", task.ModelVersion);
        }
    }

    /// <summary>The same call with its own deadline, linked to the job's cancellation.</summary>
    public static async Task<ReceivedUpdate> AskWithTimeoutAsync(IRoundHost host, string gatewayId, RoundTask task, double timeoutSeconds)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(host.JobCancellation);
        timeout.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        return await AskAsync(host, gatewayId, task, timeoutSeconds, timeout.Token);
    }
}
