using System.Threading.Channels;
using FedGrains.Grains.Interfaces;

namespace FedGrains.Cli.Running;

/// <summary>Receives a job's events as a grain observer and hands them to the reader in order.</summary>
/// <param name="showUpdates">Also print a line for every gateway update as it arrives.</param>
internal sealed class JobWatcher(bool showUpdates) : IJobObserver
{
    private readonly Channel<(JobStatus Status, RoundRecord? Round)> events = Channel.CreateUnbounded<(JobStatus, RoundRecord?)>();

    public ChannelReader<(JobStatus Status, RoundRecord? Round)> Events => events.Reader;

    public void UpdateReceived(string gatewayId, int round, long bytes, bool accepted)
    {
        if (showUpdates) Console.WriteLine($"  round {round}: {(accepted ? "update" : "no update")} from {gatewayId} ({bytes:N0} bytes)");
    }

    public void RoundCompleted(JobStatus status, RoundRecord round) => events.Writer.TryWrite((status, round));

    public void JobFinished(JobStatus status)
    {
        events.Writer.TryWrite((status, null));
        events.Writer.TryComplete();
    }
}
