using System.CommandLine;
using System.Diagnostics;
using FedGrains.Cli.Running;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning;
using FedGrains.Learning.Data;
using FedGrains.Learning.Jobs;
using Spectre.Console;

namespace FedGrains.Cli.Commands;

/// <summary>`fedgrains run`: a whole job in this process on the embedded default, with live progress and a report.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var job = new JobOptions();
        var output = new Option<DirectoryInfo>("--output") { Description = "Folder for report.json, history.csv, model.fgw, model.safetensors, the plots and state/fedgrains.db (default fedgrains-out)." };
        var jobId = JobIds.Option("Job id; re-running with the same id and --output resumes that job (default job-yyyyMMdd-HHmmss, the UTC time).");
        var device = new Option<string?>("--device") { Description = "auto (cuda when usable, else cpu), cpu or cuda (default auto)." };
        device.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        var telemetry = new Option<string?>("--telemetry") { Description = "OpenTelemetry exporter: none, console or otlp (default otlp if OTEL_EXPORTER_OTLP_ENDPOINT is set, else none)." };
        telemetry.AcceptOnlyFromAmong("none", "console", "otlp");
        var quiet = new Option<bool>("--quiet") { Description = "Print only the final line (and errors); the files are written as always (default off)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per line instead of text: each start-up phase, each round, and the end (default off)." };

        var command = new Command("run", HelpExamples.Describe("run", "Run a federation job to completion in this process (SQLite state under --output)."));
        foreach (var o in job.All) command.Add(o);
        command.Add(output);
        command.Add(jobId);
        command.Add(device);
        command.Add(telemetry);
        command.Add(quiet);
        command.Add(json);
        string OutputOf(ParseResult r) => (r.GetValue(output) ?? new DirectoryInfo("fedgrains-out")).FullName;
        command.Validators.Add(result =>
        {
            if (result.GetValue(quiet) && result.GetValue(json)) result.AddError("--quiet and --json: give one of them (--json already prints only JSON lines).");
        });
        command.SetAction(async (r, ct) =>
        {
            JobSpec spec;
            byte[]? initialWeights;
            try
            {
                (spec, initialWeights) = InitialWeightsUpload.Attach(job.Build(r));
                JobSpecValidator.Validate(spec);
                if (spec.Dataset.Kind == "fashion-mnist") FashionMnist.Locate(spec.Dataset.DataDir);
                TorchRuntime.SelectDevice(r.GetValue(device) ?? "auto");
                OutputFolder.CheckWritable(OutputOf(r));
                OutputFolder.CheckState(OutputOf(r));
            }
            catch (Exception e) when (e is JobSpecException or FileNotFoundException or InvalidOperationException)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
                return 2;
            }
            var dir = OutputOf(r);
            var id = r.GetValue(jobId) ?? JobIds.New();
            var mode = r.GetValue(json) ? OutputMode.Json : r.GetValue(quiet) ? OutputMode.Quiet : OutputMode.Human;
            return await RunAsync(spec, initialWeights, id, dir, r.GetValue(device) ?? "auto", r.GetValue(telemetry), mode, ct);
        });
        return command;
    }

    private static async Task<int> RunAsync(JobSpec spec, byte[]? initialWeights, string jobId, string outputDir, string device, string? telemetry,
        OutputMode mode, CancellationToken ct)
    {
        var stopwatch = Stopwatch.StartNew();
        var progress = new ProgressDisplay(mode, stopwatch);
        var database = Path.Combine(outputDir, "state", "fedgrains.db");
        if (mode == OutputMode.Human)
            AnsiConsole.MarkupLineInterpolated($"job [bold]{jobId}[/]: {JobOptions.ModelSummary(spec)} on {spec.Dataset.Kind}, {spec.ResolveGateways().Count} gateways, {spec.Rounds} rounds, epsilon <= {spec.Privacy.TargetEpsilon} per gateway (delta {spec.Privacy.Delta}, noise level {spec.Privacy.NoiseLevel})");
        RunReport report;
        try
        {
            progress.Phase($"starting the embedded silo (state in {database})");
            await using var federation = await EmbeddedFederation.StartAsync(database, device, telemetry, ct);
            var grain = federation.Grains.GetGrain<IFederationGrain>(jobId);
            progress.Phase($"admitting the job: each of the {spec.ResolveGateways().Count} gateways loads its data and calibrates its noise for epsilon <= {spec.Privacy.TargetEpsilon} over {spec.Rounds} rounds"
                + (spec.PublicPretraining.Epochs > 0 ? $"; the federation pretrains on the public data ({spec.PublicPretraining.Epochs} epochs)" : ""));
            await grain.StartAsync(spec, initialWeights);
            progress.Phase($"training: {spec.Rounds} rounds");
            var status = await progress.FollowAsync(grain, ct);
            report = new RunReport(jobId, spec, status, await grain.GetHistoryAsync(), await grain.GetGatewayPrivacyAsync(),
                await grain.GetModelAsync(), stopwatch.Elapsed.TotalSeconds, await grain.GetPersonalEvaluationsAsync());
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]interrupted.[/] The job's completed rounds are kept in {database}; resume with: fedgrains run --job-id {jobId} --output {outputDir} (and the same job flags).");
            return 130;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FileNotFoundException)
        {
            // Also a damaged store, or state it lost (StateStoreDamagedException, a held job): nothing was written.
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 2;
        }

        report.WriteTo(outputDir);
        if (mode == OutputMode.Human) PrintSummary(report, outputDir);
        else if (mode == OutputMode.Quiet) Console.WriteLine(FinalLine(report));
        progress.Finished(report, outputDir);
        return report.Status.State == JobState.Completed ? 0 : 1;
    }

    private static string FinalLine(RunReport report) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{report.JobId} {report.Status.State.ToString().ToLowerInvariant()}: rounds {report.Status.RoundsCompleted}/{report.Spec.Rounds}, final test accuracy {report.History.LastOrDefault()?.TestAccuracy:P2}, max epsilon {report.Gateways.Max(g => g.Epsilon):F3}, wall time {report.WallSeconds:F1} s{(report.Status.Error is { } error ? $"; error: {error}" : "")}");

    private static void PrintSummary(RunReport report, string outputDir)
    {
        var table = new Table().Title($"job {report.JobId}: {report.Status.State}").AddColumns("gateway", "epsilon", "delta", "sample rate", "noise multiplier", "steps");
        foreach (var g in report.Gateways.OrderBy(g => g.GatewayId, StringComparer.Ordinal))
            table.AddRow(g.GatewayId, g.Epsilon?.ToString("F3") ?? "not claimed", g.Delta.ToString("G3"), g.SampleRate.ToString("F4"),
                g.NoiseMultiplier.ToString("F3"), g.Steps.ToString());
        AnsiConsole.Write(table);
        var last = report.History.LastOrDefault();
        AnsiConsole.MarkupLineInterpolated($"rounds {report.Status.RoundsCompleted}/{report.Spec.Rounds}, final test accuracy {last?.TestAccuracy:P2}, max epsilon {report.Gateways.Max(g => g.Epsilon):F3}, wall time {report.WallSeconds:F1} s");
        if (report.MeanPersonalAccuracy() is { } personal)
            AnsiConsole.MarkupLineInterpolated($"personalised: mean accuracy {personal:P2} over {report.Personal!.Count(p => p.Accuracy is not null)} sites, each its own model on its own held-out data (noised{(report.Spec.Privacy.NoiseLevel == "sample" ? ", counted in its epsilon" : "")})");
        if (report.Status.Error is { } error) AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {error}");
        AnsiConsole.MarkupLineInterpolated($"wrote {Path.Combine(outputDir, "report.json")}, history.csv, model.fgw, model.safetensors, plots ({string.Join(", ", Plots.Names)}; PNG and SVG) and tensorboard/ (tensorboard --logdir {Path.Combine(outputDir, "tensorboard")})");
    }
}
