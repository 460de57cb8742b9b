using FedGrains.Grains.Security;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Placement;
using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Grains.Federation;

/// <summary>Asks one gateway to train (in the clear, or in a secure round) and turns every way that can end into a <see cref="ReceivedUpdate"/>.</summary>
internal static class GatewayCalls
{
    public static async Task<ReceivedUpdate> AskAsync(IRoundHost host, string gatewayId, RoundTask task, double timeoutSeconds, CancellationToken cancellationToken) =>
        (await CallAsync(host, gatewayId, task, timeoutSeconds, () => SiteCalls.Gateway(host.GrainFactory, host.JobId, gatewayId).TrainAsync(task, cancellationToken),
            update => (update, (SecAggKeys?)null))).Received;

    /// <summary>A secure round's training: the update (without its delta) and the gateway's keys for the attempt, or why there are none.</summary>
    public static async Task<(ReceivedUpdate Received, SecAggKeys? Keys, int[]? UnmaskedFor)> AskSecureAsync(IRoundHost host, string gatewayId, RoundTask task, SecureRoundSetup setup,
        double timeoutSeconds, CancellationToken cancellationToken)
    {
        int[]? unmaskedFor = null;
        var (received, keys) = await CallAsync(host, gatewayId, task, timeoutSeconds, () => SiteCalls.Gateway(host.GrainFactory, host.JobId, gatewayId).TrainSecureAsync(task, setup, cancellationToken),
            sealedAnswer =>
            {
                try
                {
                    var answer = host.Seals.Open(SealedPurpose.SecureStage(host.JobId, gatewayId, SecureStage.Train), setup.Challenge, sealedAnswer);
                    unmaskedFor = answer.UnmaskedFor;
                    return (answer.Update, answer.Keys);
                }
                catch (InvalidOperationException e) { throw new UnsealedAnswerException(e.Message); }
            });
        return (received, keys, unmaskedFor);
    }

    /// <summary>An answer not sealed for its call (forged on the way): a dropout of this round, not the gateway's refusal.</summary>
    private sealed class UnsealedAnswerException(string message) : Exception(message);

    private static async Task<(ReceivedUpdate Received, SecAggKeys? Keys)> CallAsync<T>(IRoundHost host, string gatewayId, RoundTask task, double timeoutSeconds,
        Func<Task<T>> call, Func<T, (GatewayUpdate Update, SecAggKeys? Keys)> answer)
    {
        ReceivedUpdate Missing(string why, bool refused = false) => new(gatewayId, null, why, task.ModelVersion, refused);
        try
        {
            var (update, keys) = answer(await SiteCalls.CallAsync(host.SiteOf(gatewayId), call));
            host.Notify(o => o.UpdateReceived(gatewayId, task.Sequence, update.Delta?.Length ?? 0, update.Delta is not null || keys is not null));
            return (new ReceivedUpdate(gatewayId, update, null, task.ModelVersion), keys);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
            return (Missing(host.JobCancellation.IsCancellationRequested ? "job cancelled" : $"no answer within round_timeout_seconds={timeoutSeconds}"), null);
        }
        catch (InvalidDataException)
        {
            throw; // the gateway's state is lost or inconsistent with its site's: the job stops (RoundTicker), it is no dropout
        }
        catch (UnsealedAnswerException e)
        {
            return (Missing(e.Message), null);
        }
        catch (SiteOfflineException e)
        {
            return (Missing(e.Message), null); // a dropout of this round; the site rejoins when its silo is back
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException and not ObjectDisposedException)
        {
            // The gateway was reached and refused (its own checks, e.g. training diverged): retrying soon will not help.
            return (Missing(e.Message, refused: true), null);
        }
        catch (Exception e)
        {
            return (Missing($"{e.GetType().Name}: {e.Message}"), null);
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
