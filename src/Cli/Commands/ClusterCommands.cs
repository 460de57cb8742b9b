using System.CommandLine;
using FedGrains.Cli.Running;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using Spectre.Console;

namespace FedGrains.Cli.Commands;

/// <summary>`submit`, `status`, `watch`, `cancel`, `export`: the CLI against a running cluster.</summary>
internal static class ClusterCommands
{
    internal static readonly Option<string?> Cluster = new("--cluster")
    {
        Description = "The cluster: redis://HOST:PORT (Redis membership) or a silo's client endpoint HOST:PORT (default $FEDGRAINS_CLUSTER, else 127.0.0.1:30000).",
        Recursive = true,
    };

    internal static readonly Option<string?> Credential = new("--credential")
    {
        Description = "KEY_ID:BASE64_SECRET to sign requests with, when the cluster has FedGrains:Auth:Enabled (default $FEDGRAINS_CREDENTIAL).",
        Recursive = true,
    };

    public static IEnumerable<Command> Create() => ClusterTls.AddTo([Submit(), Status(), Watch(), Cancel(), Export()]);

    private static Command Submit()
    {
        var job = new JobOptions();
        var jobId = JobIds.Option("Job id; submitting the same id and spec again is a no-op (default job-yyyyMMdd-HHmmss, the UTC time).");
        var command = new Command("submit", HelpExamples.Describe("submit", "Submit a job to a running cluster; prints the job id on the last line.")) { Cluster, Credential, jobId };
        foreach (var o in job.All) command.Add(o);
        command.SetAction((r, ct) => WithClusterAsync(r, ct, async client =>
        {
            var (spec, initialWeights) = InitialWeightsUpload.Attach(job.Build(r));
            JobSpecValidator.Validate(spec);
            var id = r.GetValue(jobId) ?? JobIds.New();
            var status = await Submission.SubmitAsync(client.GetGrain<IFederationGrain>(id), spec, initialWeights, ct);
            AnsiConsole.MarkupLineInterpolated($"submitted: {status.State}, {status.TotalRounds} rounds, {JobOptions.ModelSummary(spec)}");
            Console.WriteLine(id);
            return 0;
        }));
        return command;
    }

    private static Command Status()
    {
        var jobArg = new Argument<string?>("job") { Description = "Job id; omit to list all jobs.", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("status", "Show a job's status, or list the cluster's jobs.") { Cluster, Credential, jobArg };
        command.SetAction((r, ct) => WithClusterAsync(r, ct, async client =>
        {
            var ids = r.GetValue(jobArg) is { } one ? [one]
                : (await client.GetGrain<IJobDirectoryGrain>(0).ListAsync()).Select(j => j.JobId).ToArray();
            var table = new Table().AddColumns("job", "state", "rounds", "accuracy", "max epsilon", "silo", "error, or what it waits for");
            string? waiting = null;
            foreach (var id in ids)
            {
                var s = await client.GetGrain<IFederationGrain>(id).GetStatusAsync();
                waiting = s.Waiting;
                if (s.State == JobState.NotStarted && ids.Length == 1)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]error:[/] job '{id}' does not exist on this cluster.");
                    return 4;
                }
                table.AddRow(Markup.Escape(id), s.State.ToString(), $"{s.RoundsCompleted}/{s.TotalRounds}", s.TestAccuracy?.ToString("P2") ?? "-",
                    s.MaxEpsilon?.ToString("F3") ?? "-", Markup.Escape(s.Silo ?? "-"), Markup.Escape(s.Error ?? s.Waiting ?? ""));
            }
            AnsiConsole.Write(table);
            // What one job waits for, whole (a table cell wraps it), e.g. which site's admin must approve it.
            if (ids.Length == 1 && waiting is not null) Console.WriteLine($"job {ids[0]}: {waiting}");
            return 0;
        }));
        return command;
    }

    private static Command Watch()
    {
        var jobArg = JobIds.Argument();
        var updates = new Option<bool>("--updates") { Description = "Also print each gateway's update as it arrives (default off)." };
        var command = new Command("watch", "Follow a job's rounds live (events from the federation) until it ends.") { Cluster, Credential, jobArg, updates };
        command.SetAction((r, ct) => WithClusterAsync(r, ct, async client =>
        {
            var id = r.GetValue(jobArg)!;
            var job = client.GetGrain<IFederationGrain>(id);
            var watcher = new JobWatcher(r.GetValue(updates));
            var reference = client.CreateObjectReference<IJobObserver>(watcher);
            await RetryAsync(async () => { await job.SubscribeAsync(reference); return 0; }, ct);
            var status = await RetryAsync(job.GetStatusAsync, ct);
            if (status.State == JobState.NotStarted)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] job '{id}' does not exist on this cluster.");
                return 4;
            }
            Console.WriteLine($"job {id}: {status.State}, round {status.RoundsCompleted}/{status.TotalRounds}");
            using var renew = new PeriodicTimer(TimeSpan.FromSeconds(30));
            var renewing = Task.Run(async () => { while (await renew.WaitForNextTickAsync(ct)) await TryAsync(() => job.SubscribeAsync(reference)); }, ct);
            string? waiting = null;
            while (status.State == JobState.Running)
            {
                if (status.Waiting != waiting && (waiting = status.Waiting) is not null) Console.WriteLine($"job {id}: {waiting}");
                // Events drive the output; a status poll every few seconds covers a federation that moved silos.
                using var poll = CancellationTokenSource.CreateLinkedTokenSource(ct);
                poll.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    var (next, round) = await watcher.Events.ReadAsync(poll.Token);
                    status = next;
                    if (round is not null)
                        Console.WriteLine($"round {round.Round}/{status.TotalRounds}: {round.Participants.Count} updates, {round.Rejected.Count} rejected, " +
                                          $"test accuracy {round.TestAccuracy:P2}, max epsilon {status.MaxEpsilon:F3}, {round.Seconds:F1}s");
                }
                catch (Exception e) when (e is OperationCanceledException or System.Threading.Channels.ChannelClosedException && !ct.IsCancellationRequested)
                {
                    // No event for a while: the job may have moved to another silo (its old one died). Ask again and
                    // re-subscribe; while the cluster recovers, those calls may fail and are retried on the next pass.
                    await TryAsync(async () => status = await job.GetStatusAsync());
                    await TryAsync(() => job.SubscribeAsync(reference));
                }
            }
            Console.WriteLine($"job {id}: {status.State} after {status.RoundsCompleted} rounds{(status.Error is null ? "" : ": " + status.Error)}");
            return status.State == JobState.Completed ? 0 : 1;
        }));
        return command;
    }

    private static Command Cancel()
    {
        var jobArg = JobIds.Argument();
        var command = new Command("cancel", "Cancel a running job; its completed rounds are kept.") { Cluster, Credential, jobArg };
        command.SetAction((r, ct) => WithClusterAsync(r, ct, async client =>
        {
            var status = await client.GetGrain<IFederationGrain>(r.GetValue(jobArg)!).CancelAsync();
            Console.WriteLine($"{status.JobId}: {status.State} after {status.RoundsCompleted} rounds");
            return status.State == JobState.Cancelled || status.State == JobState.Completed ? 0 : 1;
        }));
        return command;
    }

    private static Command Export()
    {
        var jobArg = JobIds.Argument();
        var output = new Option<DirectoryInfo>("--output") { Description = "Folder to write into.", Required = true };
        var version = new Option<long?>("--model-version") { Description = "Export this kept model version (default latest)." };
        var command = new Command("export", "Write a job's report.json, history.csv, model.safetensors and accuracy/epsilon plots.") { Cluster, Credential, jobArg, output, version };
        command.SetAction((r, ct) => WithClusterAsync(r, ct, async client =>
        {
            var id = r.GetValue(jobArg)!;
            var job = client.GetGrain<IFederationGrain>(id);
            if (await job.GetSpecAsync() is not { } spec)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] job '{id}' does not exist on this cluster.");
                return 4;
            }
            var status = await job.GetStatusAsync();
            var wall = ((status.FinishedAt ?? DateTimeOffset.UtcNow) - (status.StartedAt ?? DateTimeOffset.UtcNow)).TotalSeconds;
            var report = new RunReport(id, spec, status, await job.GetHistoryAsync(), await job.GetGatewayPrivacyAsync(),
                r.GetValue(version) is { } v ? await job.GetModelVersionAsync(v) : await job.GetModelAsync(), wall, await job.GetPersonalEvaluationsAsync());
            var dir = r.GetValue(output)!.FullName;
            report.WriteTo(dir);
            Console.WriteLine($"exported {id} ({status.State}, {status.RoundsCompleted} rounds, model version {report.Model.Version}) to {dir}");
            return 0;
        }));
        return command;
    }

    /// <summary>Retries a call for up to a minute while the cluster recovers from a lost silo.</summary>
    private static async Task<T> RetryAsync<T>(Func<Task<T>> call, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            try { return await call(); }
            catch (Exception e) when (e is OrleansException or TimeoutException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(500, ct);
            }
        }
    }

    private static async Task TryAsync(Func<Task> call)
    {
        try { await call(); }
        catch (Exception e) when (e is OrleansException or TimeoutException) { }
    }

    internal static Task<int> WithClusterAsync(ParseResult r, CancellationToken ct, Func<IClusterClient, Task<int>> action) =>
        WithGrainsAsync(async () =>
        {
            await using var connection = await ClusterConnection.ConnectAsync(
                r.GetValue(Cluster) ?? Environment.GetEnvironmentVariable("FEDGRAINS_CLUSTER") ?? "127.0.0.1:30000",
                r.GetValue(Credential) ?? Environment.GetEnvironmentVariable("FEDGRAINS_CREDENTIAL"), ClusterTls.From(r), ct);
            return await action(connection.Client);
        });

    /// <summary>Runs a command's work and turns the errors a user can fix into a message and an exit code.</summary>
    internal static async Task<int> WithGrainsAsync(Func<Task<int>> work)
    {
        try
        {
            return await work();
        }
        catch (UnauthorizedAccessException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 5;
        }
        catch (ClusterUnreachableException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 3;
        }
        catch (Exception e) when (e is JobSpecException or ArgumentException or InvalidOperationException or FileNotFoundException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 2;
        }
        catch (Exception e) when (Submission.Transient(e))
        {
            // A silo stopped or the store restarted while the call was under way: nothing stored is lost, and every
            // command may be run again (submitting the same job id and spec again is a no-op).
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] the cluster did not complete the call ({e.GetBaseException().Message}). A silo or its store may have just stopped; run the command again.");
            return 3;
        }
    }
}
