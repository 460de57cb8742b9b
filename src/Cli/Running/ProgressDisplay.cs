using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FedGrains.Grains.Interfaces;
using Spectre.Console;

namespace FedGrains.Cli.Running;

/// <summary>How `run` reports while it works: for people (a live bar on a terminal), nothing but the end, or JSON lines.</summary>
internal enum OutputMode { Human, Quiet, Json }

/// <summary>
/// What `run` shows while a job runs, timed by the one clock the report's wall time uses: a line as each start-up
/// phase begins, one line per completed round that stays (round, updates/cohort, accuracy, max epsilon, seconds,
/// elapsed, ETA), and on a terminal a live bar for the round in progress. <see cref="OutputMode.Json"/> writes one
/// JSON object per line instead (phase, round, finished) for scripts; <see cref="OutputMode.Quiet"/> writes nothing.
/// </summary>
internal sealed class ProgressDisplay(OutputMode mode, Stopwatch clock)
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // "<=" stays readable; this is not HTML
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals, // an unbounded epsilon
    };

    private string Elapsed => clock.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + " s";

    /// <summary>A start-up phase begins (what it does, so a wait of seconds says what it waits for).</summary>
    public void Phase(string text)
    {
        if (mode == OutputMode.Human) AnsiConsole.MarkupLine($"[grey]{Markup.Escape($"[{Elapsed}]")}[/] {Markup.Escape(text)}");
        else if (mode == OutputMode.Json) Line(new { Event = "phase", Text = text, ElapsedSeconds = Seconds(clock.Elapsed) });
    }

    /// <summary>Follows the job until it stops, printing each round as it completes.</summary>
    public async Task<JobStatus> FollowAsync(IFederationGrain job, CancellationToken cancellationToken)
    {
        var status = await job.GetStatusAsync();
        int printed = status.RoundsCompleted;
        var seconds = new List<double>();
        async Task PrintNewRoundsAsync()
        {
            if (status.RoundsCompleted == printed) return;
            foreach (var round in (await job.GetHistoryAsync()).Where(r => r.Round > printed))
            {
                seconds.Add(round.Seconds);
                Round(round, status.TotalRounds, Eta(seconds, status.TotalRounds - round.Round));
            }
            printed = status.RoundsCompleted;
        }

        if (mode == OutputMode.Human && AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
        {
            await AnsiConsole.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                .StartAsync(async context =>
                {
                    var bar = context.AddTask(Live(status, seconds), maxValue: Math.Max(1, status.TotalRounds));
                    while (status.State == JobState.Running)
                    {
                        await Task.Delay(Poll, cancellationToken);
                        status = await job.GetStatusAsync();
                        await PrintNewRoundsAsync();
                        bar.Value = status.RoundsCompleted;
                        bar.Description = Live(status, seconds);
                    }
                });
        }
        else
        {
            while (status.State == JobState.Running)
            {
                await Task.Delay(Poll, cancellationToken);
                status = await job.GetStatusAsync();
                await PrintNewRoundsAsync();
            }
        }
        await PrintNewRoundsAsync();
        return status;
    }

    /// <summary>The end, for scripts: the state, the final accuracy and epsilon, the wall time and where the report is.</summary>
    public void Finished(RunReport report, string outputDir)
    {
        if (mode != OutputMode.Json) return;
        Line(new
        {
            Event = "finished",
            State = report.Status.State.ToString().ToLowerInvariant(),
            report.Status.Error,
            RoundsCompleted = report.Status.RoundsCompleted,
            FinalTestAccuracy = report.History.LastOrDefault()?.TestAccuracy,
            MaxEpsilon = report.Gateways.Max(g => g.Epsilon),
            MeanPersonalAccuracy = report.MeanPersonalAccuracy(),
            WallSeconds = Seconds(TimeSpan.FromSeconds(report.WallSeconds)),
            Report = Path.Combine(outputDir, "report.json"),
        });
    }

    private void Round(RoundRecord r, int total, TimeSpan? eta)
    {
        int cohort = r.Participants.Count + r.Rejected.Count;
        if (mode == OutputMode.Json)
            Line(new
            {
                Event = "round", r.Round, TotalRounds = total, Updates = r.Participants.Count, Cohort = cohort, Rejected = r.Rejected.Count,
                r.TestAccuracy, MaxEpsilon = r.MaxEpsilon(), Seconds = Math.Round(r.Seconds, 2), ElapsedSeconds = Seconds(clock.Elapsed),
                EtaSeconds = eta is { } e ? Seconds(e) : (double?)null,
            });
        else if (mode == OutputMode.Human)
        {
            var rejected = r.Rejected.Count > 0 ? $", {r.Rejected.Count} rejected" : "";
            var epsilon = r.MaxEpsilon() is { } max ? max.ToString("F3", CultureInfo.InvariantCulture) : "not claimed";
            var left = eta is { } t ? $", ETA {Format(t)}" : "";
            AnsiConsole.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"[{Elapsed}] round {r.Round}/{total}: {r.Participants.Count}/{cohort} updates{rejected}, accuracy {r.TestAccuracy:P2}, max epsilon {epsilon}, {r.Seconds:F1} s{left}")));
        }
    }

    /// <summary>The bar's text for the round under way: how many of its gateways answered, the time so far and left.</summary>
    private string Live(JobStatus s, List<double> seconds)
    {
        var eta = Eta(seconds, s.TotalRounds - s.RoundsCompleted) is { } t ? $"  ETA {Format(t)}" : "";
        var waiting = s.Waiting is { } w ? $"  waiting: {w}" : "";
        return Markup.Escape($"round {Math.Min(s.RoundsCompleted + 1, s.TotalRounds)}/{s.TotalRounds}  gateways {s.GatewaysDone}/{s.CohortSize}  {Elapsed}{eta}{waiting}");
    }

    /// <summary>What the remaining rounds take at the mean pace so far; null before the first round.</summary>
    private static TimeSpan? Eta(List<double> seconds, int remaining) =>
        seconds.Count == 0 ? null : TimeSpan.FromSeconds(seconds.Average() * Math.Max(0, remaining));

    private static string Format(TimeSpan t) => t.TotalSeconds < 90 ? $"{t.TotalSeconds:F0} s" : t.TotalMinutes < 90 ? $"{t.TotalMinutes:F0} min" : $"{t.TotalHours:F1} h";

    private static double Seconds(TimeSpan t) => Math.Round(t.TotalSeconds, 2);

    private static void Line(object value) => Console.WriteLine(JsonSerializer.Serialize(value, Json));
}
