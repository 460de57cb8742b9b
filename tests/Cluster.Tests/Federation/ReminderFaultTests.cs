using FedGrains.Grains.Interfaces;

namespace FedGrains.Cluster.Tests.Federation;

/// <summary>The reminder store failing while a job starts (Redis restarting, as the chaos run caught): the job still runs.</summary>
public sealed class ReminderFaultTests
{
    [Fact]
    public async Task A_job_whose_resume_reminder_cannot_be_registered_at_submission_still_runs_to_the_end()
    {
        int failures = 0;
        var cluster = await TestCluster.StartAsync(TestCluster.NewDatabasePath(), silos: 2, reminders: true, configure: silo => silo.AddOutgoingGrainCallFilter(context =>
            context.InterfaceMethod?.Name == "RegisterOrUpdateReminder" && Interlocked.Increment(ref failures) <= 3
                ? throw new InvalidOperationException("SocketFailure (ConnectionReset): the reminder store is restarting")
                : context.Invoke()));
        try
        {
            var job = cluster.Client.GetGrain<IFederationGrain>("reminder-fault");
            await job.StartAsync(TestCluster.SyntheticJob(rounds: 2, gateways: 2));
            var status = await TestCluster.WaitFinishedAsync(job);
            Assert.True(status.State == JobState.Completed, status.Error);
            Assert.True(failures >= 3, $"the filter failed {failures} registrations"); // the registration was tried again, not given up
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }
}
