using FedGrains.Grains.Interfaces;
using Spectre.Console;

namespace FedGrains.Cli.Running;

/// <summary>Follows a job until it stops: a live bar on a terminal, a line per round when output is redirected.</summary>
internal static class ProgressDisplay
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    public static async Task<JobStatus> FollowAsync(IFederationGrain job, CancellationToken cancellationToken)
    {
        var status = await job.GetStatusAsync();
        if (!AnsiConsole.Profile.Capabilities.Interactive || Console.IsOutputRedirected)
            return await FollowPlainAsync(job, status, cancellationToken);

        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var bar = context.AddTask(Describe(status), maxValue: Math.Max(1, status.TotalRounds));
                while (status.State == JobState.Running)
                {
                    await Task.Delay(Poll, cancellationToken);
                    status = await job.GetStatusAsync();
                    bar.Value = status.RoundsCompleted;
                    bar.Description = Describe(status);
                }
                bar.Value = status.RoundsCompleted;
            });
        return status;
    }

    private static async Task<JobStatus> FollowPlainAsync(IFederationGrain job, JobStatus status, CancellationToken cancellationToken)
    {
        int printed = status.RoundsCompleted;
        while (status.State == JobState.Running)
        {
            await Task.Delay(Poll, cancellationToken);
            status = await job.GetStatusAsync();
            if (status.RoundsCompleted != printed)
            {
                printed = status.RoundsCompleted;
                Console.WriteLine(Markup.Remove(Describe(status)));
            }
        }
        return status;
    }

    private static string Describe(JobStatus s)
    {
        var accuracy = s.TestAccuracy is { } a ? $"{a:P1}" : "-";
        var epsilon = s.MaxEpsilon is { } e ? $"{e:F2}" : "-";
        var gateways = s.State == JobState.Running ? $"gateways {s.GatewaysDone}/{s.CohortSize}" : s.State.ToString().ToLowerInvariant();
        return Markup.Escape($"round {s.RoundsCompleted}/{s.TotalRounds}  {gateways}  accuracy {accuracy}  max epsilon {epsilon}");
    }
}
