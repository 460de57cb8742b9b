namespace FedGrains.Grains.Interfaces;

/// <summary>Receives a job's events: a round persisted (a new model version), and the job's end.</summary>
[Alias("fedgrains.job-observer")]
public interface IJobObserver : IGrainObserver
{
    [Alias("round-completed")]
    void RoundCompleted(JobStatus status, RoundRecord round);

    [Alias("job-finished")]
    void JobFinished(JobStatus status);
}
