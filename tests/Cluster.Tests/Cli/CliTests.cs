using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FedGrains.Learning.Privacy;

namespace FedGrains.Cluster.Tests.Cli;

/// <summary>The `fedgrains` executable as a user runs it: a separate process, its exit code, its output and its files.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("fedgrains-cli-").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    [Fact]
    public async Task Privacy_epsilon_and_noise_print_the_number_alone_on_the_last_line()
    {
        var epsilon = await RunAsync("privacy", "epsilon", "--sample-rate", "0.01", "--noise-multiplier", "1.1", "--steps", "5000", "--delta", "1e-5");
        var noise = await RunAsync("privacy", "noise", "--sample-rate", "0.01", "--steps", "5000", "--delta", "1e-5", "--target-epsilon", "2");

        Assert.Equal(0, epsilon.ExitCode);
        Assert.Equal(PrvAccountant.Epsilon(0.01, 1.1, 5000, 1e-5), LastNumber(epsilon.Output), 5);
        var rdp = await RunAsync("privacy", "epsilon", "--accountant", "rdp", "--sample-rate", "0.01", "--noise-multiplier", "1.1", "--steps", "5000", "--delta", "1e-5");
        Assert.Equal(RdpAccountant.Epsilon(0.01, 1.1, 5000, 1e-5), LastNumber(rdp.Output), 5);
        Assert.True(LastNumber(epsilon.Output) < LastNumber(rdp.Output), "the default accountant is the tighter one");
        Assert.Equal(0, noise.ExitCode);
        Assert.Equal(PrivacyAccountants.Get("prv").NoiseMultiplierFor(2, 0.01, 5000, 1e-5), LastNumber(noise.Output), 5);
    }

    [Fact]
    public async Task An_unreachable_cluster_is_named_without_its_redis_password()
    {
        // Found running the README's TLS walkthrough: the message printed the --cluster value whole, password included.
        const string password = "walkthrough-secret-7f3a";
        var result = await RunAsync("status", "--cluster", $"redis://127.0.0.1:{Grains.Hosting.HostBuilderExtensions.FreeTcpPort()},password={password}");

        var output = result.Output.Replace("\r", "").Replace("\n", ""); // the message is wrapped to the terminal's width
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("cannot reach the FedGrains cluster at redis://127.0.0.1:", output);
        Assert.Contains(",password=***", output);
        Assert.DoesNotContain(password, output);
    }

    [Fact]
    public async Task A_wrong_redis_password_is_named_as_such_not_as_a_cancelled_task()
    {
        // Found attacking the README's walkthrough: each connect attempt ended at its deadline, and the message said
        // only "A task was canceled".
        int port = Grains.Hosting.HostBuilderExtensions.FreeTcpPort();
        using var redis = ProcessRunner.StartRedis(port, "--requirepass", "the-right-one");
        await Task.Delay(500); // redis-server listening

        var result = await RunAsync("status", "--cluster", $"redis://127.0.0.1:{port},password=a-wrong-one");

        var output = result.Output.Replace("\r", "").Replace("\n", " ");
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("WRONGPASS", output);
        Assert.DoesNotContain("a-wrong-one", output);
    }

    [Fact]
    public async Task Flags_the_parser_refuses_exit_2_with_the_flag_named_and_no_stack_trace_or_type_names()
    {
        var notANumber = await RunAsync("privacy", "epsilon", "--sample-rate", "0.01", "--noise-multiplier", "1.1", "--steps", "50", "--delta", "abc");
        var badRounds = await RunAsync("run", "--rounds", "x", "--output", dir);
        var unknown = await RunAsync("run", "--rounds-typo", "3", "--output", dir);

        foreach (var (result, named) in new[] { (notANumber, "--delta"), (badRounds, "--rounds"), (unknown, "--rounds-typo") })
        {
            Assert.Equal(2, result.ExitCode);
            Assert.Contains(named, result.Output);
            Assert.DoesNotContain("System.", result.Output);
            Assert.DoesNotContain("   at ", result.Output);
        }
        Assert.Contains("as a number", notANumber.Output);
        Assert.False(File.Exists(Path.Combine(dir, "report.json")));
    }

    [Fact]
    public async Task Privacy_epsilon_prints_the_accountants_value_in_full()
    {
        var epsilon = await RunAsync("privacy", "epsilon", "--sample-rate", "0.04", "--noise-multiplier", "1.5", "--steps", "480", "--delta", "1e-5");
        Assert.Equal(PrivacyAccountants.Prv.Epsilon(0.04, 1.5, 480, 1e-5), LastNumber(epsilon.Output)); // exactly: it round-trips
    }

    [Fact]
    public async Task Privacy_audit_bounds_a_dp_run_below_its_claim_and_catches_a_run_without_noise()
    {
        var dp = await RunAsync("privacy", "audit", "--epsilon", "3", "--steps", "240");
        var leaky = await RunAsync("privacy", "audit", "--noise-level", "none", "--steps", "240");

        Assert.True(dp.ExitCode == 0, dp.Output);
        Assert.InRange(LastNumber(dp.Output), 0, 3);
        Assert.Contains("claimed epsilon 3", dp.Output);
        Assert.True(leaky.ExitCode == 0, leaky.Output);
        Assert.True(LastNumber(leaky.Output) > 3, leaky.Output);
    }

    [Fact]
    public async Task Bad_flags_and_specs_fail_with_the_field_named()
    {
        var badRate = await RunAsync("privacy", "epsilon", "--sample-rate", "2", "--noise-multiplier", "1", "--steps", "10", "--delta", "1e-5");
        Assert.NotEqual(0, badRate.ExitCode);
        Assert.Contains("--sample-rate must be in (0, 1]", badRate.Output);

        var badRounds = await RunAsync("run", "--dataset", "synthetic", "--rounds", "0", "--output", dir);
        Assert.Equal(2, badRounds.ExitCode);
        Assert.Contains("rounds: 0 must be >= 1", badRounds.Output);

        var scatteringText = await RunAsync("run", "--dataset", "synthetic", "--features", "scattering", "--output", dir);
        Assert.Equal(2, scatteringText.ExitCode);
        Assert.Contains("dataset.features: \"scattering\" needs images", scatteringText.Output);
        var badWidth = await RunAsync("run", "--dataset", "synthetic", "--hidden", "0", "--output", dir);
        Assert.Equal(2, badWidth.ExitCode);
        Assert.Contains("must be comma-separated widths", badWidth.Output);

        var spec = Path.Combine(dir, "job.json");
        await File.WriteAllTextAsync(spec, """{ "rounds": 2, "defaults": { "clip_norm": 1.0 } }""");
        var badSpec = await RunAsync("run", "--spec", spec, "--output", dir);
        Assert.Equal(2, badSpec.ExitCode);
        Assert.Contains("clip_norm", badSpec.Output);

        var missingData = await RunAsync("run", "--data-dir", dir, "--output", dir);
        Assert.Equal(2, missingData.ExitCode);
        Assert.Contains("apt-get install -y dataset-fashion-mnist", missingData.Output);
        Assert.False(File.Exists(Path.Combine(dir, "report.json")));
    }

    [Fact]
    public async Task Run_finishes_a_job_and_writes_a_report_whose_epsilons_the_privacy_command_reproduces()
    {
        var output = Path.Combine(dir, "out");
        var run = await RunAsync("run", "--dataset", "synthetic", "--gateways", "3", "--rounds", "2", "--hidden", "16",
            "--batch-size", "100", "--learning-rate", "0.5", "--epsilon", "2", "--seed", "5", "--job-id", "cli-run", "--output", output);

        Assert.True(run.ExitCode == 0, run.Output);
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "report.json")));
        var root = report.RootElement;
        Assert.Equal(2, root.GetProperty("rounds_completed").GetInt32());
        Assert.Equal(5, root.GetProperty("seed").GetInt64());
        Assert.InRange(root.GetProperty("final_test_accuracy").GetDouble(), 0.5, 1.0);
        Assert.True(root.GetProperty("wall_seconds").GetDouble() > 0);
        Assert.Contains("started_at and finished_at are the job's own span", root.GetProperty("wall_seconds_covers").GetString());
        // No training metric was released: train_loss is empty (null), not the string "NaN".
        Assert.All(root.GetProperty("history").EnumerateArray(), r => Assert.Equal(JsonValueKind.Null, r.GetProperty("train_loss").ValueKind));
        Assert.Equal("10.4.2", root.GetProperty("versions").GetProperty("orleans").GetString());
        var gateways = root.GetProperty("gateways").EnumerateArray().ToArray();
        Assert.Equal(3, gateways.Length);
        foreach (var g in gateways)
        {
            double epsilon = g.GetProperty("epsilon").GetDouble();
            Assert.InRange(epsilon, 1.0, 2.0);
            Assert.Equal(1e-5, g.GetProperty("delta").GetDouble());
            Assert.Equal("sample", g.GetProperty("noise_level").GetString());
            var reproduce = g.GetProperty("reproduce").GetString()!.Split(' ').Skip(1).ToArray();
            var again = await RunAsync(reproduce);
            Assert.Equal(epsilon, LastNumber(again.Output), 5);
        }
        var csv = await File.ReadAllLinesAsync(Path.Combine(output, "history.csv"));
        Assert.Equal(3, csv.Length);
        Assert.StartsWith("round,participants", csv[0]);
        Assert.StartsWith("2,3,0,", csv[2]);
        Assert.True(new FileInfo(Path.Combine(output, "model.fgw")).Length > 0);

        // The run's state keeps each site's cross-job ledger; the report reads it.
        var siteReport = await RunAsync("privacy", "report", "--state", Path.Combine(output, "state", "fedgrains.db"));
        Assert.True(siteReport.ExitCode == 0, siteReport.Output);
        foreach (var g in gateways)
            Assert.Contains($"site {g.GetProperty("id").GetString()}: lifetime epsilon {g.GetProperty("epsilon").GetDouble().ToString("F3", CultureInfo.InvariantCulture)}", siteReport.Output);
        Assert.Contains("budget none", siteReport.Output);
        var missing = await RunAsync("privacy", "report", "--state", Path.Combine(dir, "nope.db"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("does not exist", missing.Output);
    }

    [Fact]
    public async Task Run_trains_the_specs_own_layer_list_and_exports_it_under_the_layer_names()
    {
        var spec = Path.Combine(dir, "layers.json");
        File.WriteAllText(spec, """
            { "rounds": 2, "gateway_count": 2, "dataset": { "kind": "synthetic" },
              "model": { "layers": [ { "type": "linear", "name": "hidden", "out": 32 }, { "type": "gelu" }, { "type": "layer_norm" },
                                     { "type": "dropout", "p": 0.1 }, { "type": "linear", "out": 4 } ] } }
            """);
        var run = await RunAsync("run", "--spec", spec, "--output", dir);

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("layers model, 868 parameters", run.Output); // 20 x 32 + 32, 2 x 32, 32 x 4 + 4: counted at submission
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "report.json")));
        Assert.True(report.RootElement.GetProperty("final_test_accuracy").GetDouble() > 0.5, run.Output);
        // Class by class: the confusion matrix holds the whole test set, and its diagonal is the accuracy.
        var evaluation = report.RootElement.GetProperty("final_test_evaluation");
        var matrix = evaluation.GetProperty("confusion_matrix").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        Assert.Equal(4, matrix.Length);
        Assert.Equal(1000, matrix.Sum(r => r.Sum()));
        Assert.Equal(report.RootElement.GetProperty("final_test_accuracy").GetDouble(), Enumerable.Range(0, 4).Sum(c => matrix[c][c]) / 1000.0, 9);
        Assert.Equal(4, evaluation.GetProperty("per_class_accuracy").GetArrayLength());
        Assert.InRange(evaluation.GetProperty("macro_f1").GetDouble(), 0.3, 1);
        var tensors = Learning.Codecs.Safetensors.Read(File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
        Assert.Equal(["hidden.weight", "hidden.bias", "2.weight", "2.bias", "4.weight", "4.bias"], tensors.Select(t => t.Name));
        Assert.Equal([32L, 20], tensors[0].Shape);

        // The plots, as PNG and SVG: two gateways of the same size spend alike, so their curves are one line with its count.
        foreach (var plot in new[] { "accuracy", "epsilon", "participation" })
            foreach (var extension in new[] { ".png", ".svg" })
                Assert.True(new FileInfo(Path.Combine(dir, plot + extension)).Length > 1000, plot + extension);
        var epsilon = SvgTexts(Path.Combine(dir, "epsilon.svg"));
        Assert.Contains("gw-00 and 1 more (2 identical curves)", epsilon);
        Assert.DoesNotContain("gw-01", epsilon);
        Assert.Contains("target epsilon 3 per gateway", epsilon);
        Assert.Contains(epsilon, t => t.Contains("delta 1E-05, prv accountant"));
        Assert.Contains(SvgTexts(Path.Combine(dir, "accuracy.svg")), t => t.Contains("2 gateways, each at epsilon <= 3"));
        // TensorBoard: framed records TensorBoard's reader accepts (masked CRC-32C), one test/accuracy scalar per round as reported.
        var scalars = TensorBoardScalars(Directory.GetFiles(Path.Combine(dir, "tensorboard"), "events.out.tfevents.*").Single());
        var accuracies = report.RootElement.GetProperty("history").EnumerateArray().Select(r => (float)r.GetProperty("test_accuracy").GetDouble()).ToArray();
        Assert.Equal(accuracies, scalars.Where(v => v.Tag == "test/accuracy").OrderBy(v => v.Step).Select(v => v.Value));
        Assert.Equal([1L, 2], scalars.Where(v => v.Tag == "privacy/epsilon/gw-01").Select(v => v.Step));
        Assert.Contains(scalars, v => v.Tag == "round/updates" && v.Value == 2);
        Assert.DoesNotContain(scalars, v => v.Tag == "train/loss"); // not released in this job
        var strip = SvgTexts(Path.Combine(dir, "participation.svg"));
        Assert.Contains("gw-00", strip);
        Assert.Contains("gw-01", strip);
        Assert.Contains("update in the round", strip);
    }

    private const string TinyJob = """{ "rounds": 2, "gateway_count": 2, "dataset": { "kind": "synthetic" }, "model": { "hidden": [16] } }""";

    [Fact]
    public async Task Run_output_in_a_log_names_each_phase_keeps_a_whole_line_per_round_and_has_json_and_quiet_forms()
    {
        var spec = Path.Combine(dir, "tiny.json");
        File.WriteAllText(spec, TinyJob);

        var plain = await RunAsync(false, "run", "--spec", spec, "--output", Path.Combine(dir, "plain"));
        Assert.True(plain.ExitCode == 0, plain.Output);
        var lines = plain.Output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\[\d+\.\d s\] starting the embedded silo"));
        Assert.Contains(lines, l => l.Contains("] admitting the job: each of the 2 gateways loads its data and calibrates its noise for epsilon <= 3 over 2 rounds"));
        // One whole line per round, with its own counts (not the next round's), the time and what is left.
        var rounds = lines.Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\[\d+\.\d s\] round \d/2: 2/2 updates, accuracy \d+\.\d\d %, max epsilon \d\.\d{3}, \d+\.\d s, ETA \d+ s$")).ToArray();
        Assert.Equal(2, rounds.Length);
        Assert.Contains("round 1/2", rounds[0]);
        Assert.Contains(lines, l => l.StartsWith("job job-") && l.EndsWith("noise level sample)")); // not wrapped at 80 columns
        // The same wall time in the last round's line, the summary and the report.
        using (var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "plain", "report.json"))))
            Assert.Contains($"wall time {report.RootElement.GetProperty("wall_seconds").GetDouble().ToString("F1", CultureInfo.InvariantCulture)} s", plain.Output);

        var json = await RunAsync(false, "run", "--spec", spec, "--output", Path.Combine(dir, "json"), "--json");
        Assert.True(json.ExitCode == 0, json.Output);
        var events = json.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(["phase", "phase", "phase", "round", "round", "finished"], events.Select(e => e.GetProperty("event").GetString()));
        Assert.Equal(2, events[4].GetProperty("round").GetInt32());
        Assert.Equal(2, events[4].GetProperty("updates").GetInt32());
        Assert.Equal("completed", events[5].GetProperty("state").GetString());
        Assert.InRange(events[5].GetProperty("max_epsilon").GetDouble(), 0, 3 + 1e-9);
        Assert.DoesNotContain("┌", json.Output); // no table among the JSON lines

        var quiet = await RunAsync(false, "run", "--spec", spec, "--output", Path.Combine(dir, "quiet"), "--quiet");
        Assert.True(quiet.ExitCode == 0, quiet.Output);
        var said = quiet.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("warn:") && !l.StartsWith("      ")).ToArray();
        Assert.True(said.Length == 1, quiet.Output);
        Assert.Matches(@"^job-\S+ completed: rounds 2/2, final test accuracy \d+\.\d\d %, max epsilon \d\.\d{3}, wall time \d+\.\d s$", said[0]);
        Assert.True(File.Exists(Path.Combine(dir, "quiet", "report.json")));

        var both = await RunAsync(false, "run", "--spec", spec, "--output", Path.Combine(dir, "both"), "--quiet", "--json");
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("give one of them", both.Output);
    }

    [Fact]
    public async Task Run_on_a_terminal_shows_a_live_bar_and_keeps_a_line_per_round_above_it()
    {
        var spec = Path.Combine(dir, "tiny.json");
        File.WriteAllText(spec, TinyJob);

        // A pseudo-terminal (util-linux `script`), as a person at a shell has.
        var run = await RunAsync(true, "run", "--spec", spec, "--output", Path.Combine(dir, "tty"));

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("\u001b[", run.Output); // the live display redraws in place
        Assert.Matches(@"round [12]/2  gateways \d/2  \d+\.\d s", run.Output); // the bar's text: the round under way
        var text = System.Text.RegularExpressions.Regex.Replace(run.Output, @"\u001b\[[0-9;?]*[A-Za-z]", "").Replace("\r", "");
        Assert.Contains("round 1/2: 2/2 updates", text);
        Assert.Contains("round 2/2: 2/2 updates", text);
        Assert.Contains("final test accuracy", text);
    }

    /// <summary>
    /// The scalars of a TensorBoard event file, read as TensorBoard reads it: records of a length, its masked CRC-32C,
    /// the Event protobuf and its masked CRC-32C (each checked here, as tensorboard's reader does).
    /// </summary>
    private static List<(string Tag, long Step, float Value)> TensorBoardScalars(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var scalars = new List<(string, long, float)>();
        for (int at = 0; at < bytes.Length;)
        {
            long length = BitConverter.ToInt64(bytes, at);
            Assert.Equal(MaskedCrc32C(bytes.AsSpan(at, 8)), BitConverter.ToUInt32(bytes, at + 8));
            var data = bytes.AsSpan(at + 12, (int)length);
            Assert.Equal(MaskedCrc32C(data), BitConverter.ToUInt32(bytes, at + 12 + (int)length));
            var e = Tensorboard.Event.Parser.ParseFrom(data.ToArray());
            if (e.Summary is { } summary) scalars.AddRange(summary.Value.Select(v => (v.Tag, e.Step, v.SimpleValue)));
            at += 12 + (int)length + 4;
        }
        return scalars;
    }

    private static uint MaskedCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1; // Castagnoli, reflected
        }
        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8;
    }

    /// <summary>The text elements of an SVG file, trimmed.</summary>
    private static string[] SvgTexts(string path) =>
        [.. System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(path), @"<text[^>]*>([^<]*)</text>").Select(m => System.Net.WebUtility.HtmlDecode(m.Groups[1].Value).Trim())];

    [Fact]
    public async Task A_pytorch_shaped_safetensors_start_trains_its_unfrozen_head_and_the_export_evaluates_as_reported()
    {
        // As safetensors.torch.save_file writes an nn.Sequential(features=Sequential(Linear(20, 16)), ..., classifier=Linear(16, 4)):
        // "__metadata__" first, tensors sorted by name, F32 little-endian, the header padded with spaces.
        var shapes = new (string Name, long[] Shape)[] { ("classifier.bias", [4]), ("classifier.weight", [4, 16]), ("features.0.bias", [16]), ("features.0.weight", [16, 20]) };
        var values = shapes.Select((t, k) => Enumerable.Range(0, (int)t.Shape.Aggregate(1L, (a, b) => a * b)).Select(i => (float)Math.Sin(1 + i + 100 * k) * 0.3f).ToArray()).ToArray();
        var header = new System.Text.Json.Nodes.JsonObject { ["__metadata__"] = new System.Text.Json.Nodes.JsonObject { ["format"] = "pt" } };
        long offset = 0;
        for (int k = 0; k < shapes.Length; k++)
        {
            header[shapes[k].Name] = new System.Text.Json.Nodes.JsonObject
            {
                ["dtype"] = "F32", ["shape"] = new System.Text.Json.Nodes.JsonArray(shapes[k].Shape.Select(d => (System.Text.Json.Nodes.JsonNode?)d).ToArray()),
                ["data_offsets"] = new System.Text.Json.Nodes.JsonArray(offset, offset + values[k].Length * 4),
            };
            offset += values[k].Length * 4;
        }
        File.WriteAllBytes(Path.Combine(dir, "pretrained.safetensors"),
            Learning.Tests.Codecs.SafetensorsFiles.Lay(header.ToJsonString(), values.SelectMany(v => v).SelectMany(BitConverter.GetBytes).ToArray()));
        var spec = Path.Combine(dir, "finetune.json");
        File.WriteAllText(spec, """
            { "rounds": 2, "gateway_count": 2, "dataset": { "kind": "synthetic" },
              "model": { "layers": [ { "type": "linear", "name": "hidden", "out": 16 }, { "type": "tanh" }, { "type": "linear", "name": "out", "out": 4 } ],
                         "initial_weights": "pretrained.safetensors", "initial_weights_rename": { "features.0": "hidden", "classifier": "out" },
                         "frozen": ["hidden"] } }
            """);

        var run = await RunAsync("run", "--spec", spec, "--output", Path.Combine(dir, "out"));

        Assert.True(run.ExitCode == 0, run.Output);
        var exported = Learning.Codecs.Safetensors.Read(File.ReadAllBytes(Path.Combine(dir, "out", "model.safetensors")));
        Assert.Equal(["hidden.weight", "hidden.bias", "out.weight", "out.bias"], exported.Select(t => t.Name));
        Assert.Equal(values[3], exported[0].Values); // frozen: exactly the file's, after two rounds
        Assert.Equal(values[2], exported[1].Values);
        Assert.NotEqual(values[1], exported[2].Values); // the head trained
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "out", "report.json")));
        var stored = Learning.Jobs.JobSpecJson.ParseStored(report.RootElement.GetProperty("spec").GetRawText());
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, "pretrained.safetensors")))), stored.Model.InitialWeightsSha256);

        // Loaded back and evaluated on the job's test set: the accuracy the report gives.
        var data = Learning.Jobs.JobData.Load(stored);
        var (x, y) = data.Test.ToTensors();
        var (_, accuracy) = Learning.Federation.GlobalModel.Evaluate(stored.Model, exported.SelectMany(t => t.Values).ToArray(), x, y, data.Classes);
        Assert.Equal(report.RootElement.GetProperty("final_test_accuracy").GetDouble(), accuracy, 6);

        // The file changed after the spec pinned it: refused before anything runs.
        File.WriteAllText(spec, File.ReadAllText(spec).Replace("\"frozen\"", $"\"initial_weights_sha256\": \"{stored.Model.InitialWeightsSha256}\", \"frozen\""));
        var bytes = File.ReadAllBytes(Path.Combine(dir, "pretrained.safetensors"));
        bytes[^1] ^= 1;
        File.WriteAllBytes(Path.Combine(dir, "pretrained.safetensors"), bytes);
        var changed = await RunAsync("run", "--spec", spec, "--output", Path.Combine(dir, "out2"));
        Assert.Equal(2, changed.ExitCode);
        Assert.Contains("the file changed since the spec was written", string.Join(" ", changed.Output.Split([' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task Run_with_a_buffer_size_trains_asynchronously_and_reports_staleness()
    {
        var output = Path.Combine(dir, "buffered");
        var run = await RunAsync("run", "--dataset", "synthetic", "--gateways", "4", "--rounds", "4", "--hidden", "16",
            "--batch-size", "100", "--buffer-size", "2", "--compression", "quantize", "--seed", "5", "--output", output);

        Assert.True(run.ExitCode == 0, run.Output);
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "report.json")));
        Assert.Equal(4, report.RootElement.GetProperty("rounds_completed").GetInt32());
        var csv = await File.ReadAllLinesAsync(Path.Combine(output, "history.csv"));
        Assert.Contains("mean_staleness", csv[0]);
        Assert.All(csv.Skip(1), line => Assert.StartsWith($"{line.Split(',')[0]},2,", line)); // two updates per version
    }

    [Fact]
    public async Task A_job_whose_training_diverges_fails_within_seconds_naming_the_learning_rate()
    {
        var clock = Stopwatch.StartNew();
        var run = await RunAsync("run", "--dataset", "synthetic", "--gateways", "2", "--rounds", "2", "--hidden", "8",
            "--learning-rate", "1e30", "--output", Path.Combine(dir, "diverged"));

        Assert.True(run.ExitCode == 1, run.Output);
        Assert.Contains("local training diverged", run.Output);
        Assert.Contains("learning_rate (1E+30)", run.Output);
        Assert.DoesNotContain("InvalidOperationException", run.Output);
        // A gateway that answers with an error is not an unreachable one: no five minutes of backoff before failing.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Run_trains_a_pretrained_layer_list_on_image_folders_with_a_personal_head_per_site()
    {
        // Two sites, each a folder of PNGs (one subfolder per class) cut from Fashion-MNIST's test images.
        var (pixels, _, _, _) = Learning.Data.IdxReader.ReadImages(Path.Combine(Learning.Data.FashionMnist.DebianPackageDirectory, "t10k-images-idx3-ubyte.gz"));
        var labels = Learning.Data.IdxReader.ReadLabels(Path.Combine(Learning.Data.FashionMnist.DebianPackageDirectory, "t10k-labels-idx1-ubyte.gz"));
        for (int i = 0; i < 600; i++)
        {
            var image = pixels.Skip(i * 784).Take(784).Select(p => (byte)Math.Round(p * 255)).ToArray();
            FedGrains.Tests.ImageFiles.Write(Path.Combine(dir, i < 300 ? "north" : "south", $"{labels[i]}", $"{i:D4}.png"), FedGrains.Tests.ImageFiles.Gray(28, 28, image));
        }
        // A start trained elsewhere, saved under the model's own layer names.
        var layout = new Learning.Codecs.NamedTensor[] { new("body.weight", [32, 784]), new("body.bias", [32]), new("head.weight", [10, 32]), new("head.bias", [10]) };
        var start = Enumerable.Range(0, 32 * 784 + 32 + 10 * 32 + 10).Select(i => (float)Math.Sin(i) * 0.05f).ToArray();
        File.WriteAllBytes(Path.Combine(dir, "start.safetensors"), Learning.Codecs.Safetensors.Write(layout, start, new Dictionary<string, string>()));
        var spec = Path.Combine(dir, "personal.json");
        File.WriteAllText(spec, """
            { "rounds": 2, "dataset": { "kind": "fashion-mnist" },
              "gateways": [ { "id": "north", "source": { "folder": "north" } }, { "id": "south", "source": { "folder": "south" } } ],
              "model": { "layers": [ { "type": "flatten" }, { "type": "linear", "name": "body", "out": 32 }, { "type": "tanh" },
                                     { "type": "linear", "name": "head", "out": 10 } ],
                         "initial_weights": "start.safetensors", "local": [ "head" ] },
              "defaults": { "batch_size": 64, "learning_rate": 0.5 },
              "privacy": { "target_epsilon": 3, "delta": 1e-4 } }
            """);

        var run = await RunAsync("run", "--spec", spec, "--output", Path.Combine(dir, "out"));

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("personalised: mean accuracy", string.Join(' ', run.Output.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries)));
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "out", "report.json")));
        var sites = report.RootElement.GetProperty("personalization").GetProperty("sites").EnumerateArray().ToArray();
        Assert.Equal(["north", "south"], sites.Select(s => s.GetProperty("gateway").GetString()));
        Assert.All(sites, s =>
        {
            Assert.Equal(30, s.GetProperty("held_out_examples").GetInt32()); // 10% of 300 images
            Assert.InRange(s.GetProperty("accuracy").GetDouble(), 0, 1);
            Assert.True(s.GetProperty("own_local_layers").GetBoolean());
        });
        Assert.All(report.RootElement.GetProperty("gateways").EnumerateArray(), g => Assert.InRange(g.GetProperty("epsilon").GetDouble(), 0, 3 + 1e-9));
        // The exported model: the shared body trained from the file, the federation's head still the file's (no site sent its own).
        var exported = Learning.Codecs.Safetensors.Read(File.ReadAllBytes(Path.Combine(dir, "out", "model.safetensors"))).ToDictionary(t => t.Name, t => t.Values);
        Assert.NotEqual(start[..(32 * 784)], exported["body.weight"]);
        Assert.Equal(start[(32 * 784 + 32)..(32 * 784 + 32 + 320)], exported["head.weight"]);
    }

    private static double LastNumber(string output) =>
        double.Parse(output.TrimEnd().Split('\n')[^1].Trim(), CultureInfo.InvariantCulture);

    private static Task<(int ExitCode, string Output)> RunAsync(params string[] args) => RunAsync(false, args);

    /// <param name="terminal">Run under a pseudo-terminal (util-linux `script`), as at an interactive shell.</param>
    private static async Task<(int ExitCode, string Output)> RunAsync(bool terminal, params string[] args)
    {
        var fedgrains = Path.Combine(AppContext.BaseDirectory, "fedgrains.dll");
        var info = new ProcessStartInfo(terminal ? "script" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (terminal)
        {
            foreach (var a in new[] { "-qec", string.Join(' ', new[] { "dotnet", fedgrains }.Concat(args).Select(a => "'" + a.Replace("'", "'\\''") + "'")), "/dev/null" })
                info.ArgumentList.Add(a);
        }
        else
        {
            info.ArgumentList.Add(fedgrains);
            foreach (var a in args) info.ArgumentList.Add(a);
        }
        info.Environment["COLUMNS"] = "200";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
