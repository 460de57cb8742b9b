namespace FedGrains.Grains.Interfaces;

/// <summary>Receives a job's events: an update received from a gateway, a round persisted (a new model version), the job's end.</summary>
[Alias("fedgrains.job-observer")]
public interface IJobObserver : IGrainObserver
{
    /// <summary>A gateway answered this round (before validation: <paramref name="accepted"/> is false when it refused or failed).</summary>
    [Alias("update-received")]
    void UpdateReceived(string gatewayId, int round, long bytes, bool accepted);

    [Alias("round-completed")]
    void RoundCompleted(JobStatus status, RoundRecord round);

    [Alias("job-finished")]
    void JobFinished(JobStatus status);
}
