using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using FedGrains.Bench;
using FedGrains.Learning;

// In-process: libtorch's ~475 MB of natives stay in this folder, and the malloc settings apply to the measured code.
NativeMemoryTuning.Apply();
TorchRuntime.SetThreads(Environment.ProcessorCount);
var job = Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(15);
var config = DefaultConfig.Instance.AddJob(job).WithOptions(ConfigOptions.DisableOptimizationsValidator);
// `dotnet run -c Release --project bench/FedGrains.Bench` runs all; `-- dp`, `-- aggregation` or `-- tls` runs one.
// `-- chaos [KILLS] [SEED]` (not part of all: it runs for a long time) is scripts/chaos.sh; `-- tls-rounds [ROUNDS] [PAIRS]`
// (not part of all either) times the default job's rounds on a real two-silo cluster with mTLS off and on; `-- secagg
// [MAX-CLASSIC]` (not part of all) times one in-memory SecAgg+ round against classic SecAgg and a plain sum.
var which = args.FirstOrDefault() ?? "all";
if (which == "chaos") return await ChaosBench.RunAsync(args[1..]);
if (which == "tls-rounds") return await TlsRoundsBench.RunAsync(args[1..]);
if (which == "secagg") return SecAggBench.Run(args[1..]);
var lines = new List<string>();

if (which is "all" or "dp")
{
    var noise = BenchmarkRunner.Run<NoiseBenchmark>(config);
    double libtorch = Median(noise, "libtorch"), fast = Median(noise, "FastGaussian"), secureFill = Median(noise, "SecureGaussian");
    lines.Add($"Noise for one MLP step ({NoiseBenchmark.Values} values): FastGaussian {fast:F3} ms, libtorch normal_ {libtorch:F3} ms ({libtorch / fast:F1}x slower), secure {secureFill:F3} ms ({secureFill / fast:F1}x)");
    foreach (var (model, name, target, repetitions) in new[] { ("mlp", "MLP 784-256-10", 1.25, 600), ("cnn", "tanh CNN (Tramer-Boneh)", 1.5, 60) })
    {
        using var comparison = new DpStepComparison(model);
        var results = comparison.Run(warmup: repetitions / 5, repetitions, materialisedEvery: model == "mlp" ? 20 : 1);
        var dp = results.Single(r => r.Variant == "DP clipping + noise");
        lines.Add($"{name}, batch 256, {Environment.ProcessorCount} threads, {repetitions} interleaved repetitions (median ms/step; median paired ratio to non-private):");
        lines.AddRange(results.Select(r => $"  {r.Variant,-28} {r.Milliseconds,8:F2} ms  {r.Ratio,7:F2}x"));
        lines.Add($"  ratio DP/non-private = {dp.Ratio:F2}x (target <= {target}x: {(dp.Ratio <= target ? "met" : "NOT met")})");
    }
}
if (which is "all" or "aggregation")
{
    var aggregation = BenchmarkRunner.Run<AggregationBenchmark>(config);
    double copy = Median(aggregation, "memcpy");
    double megabytes = 4.0 * AggregationBenchmark.Parameters * AggregationBenchmark.Gateways / 1e6;
    foreach (var rule in new[] { "mean", "median", "trimmed_mean", "krum" })
    {
        double ms = Median(aggregation, rule);
        lines.Add($"aggregate {AggregationBenchmark.Gateways} x {AggregationBenchmark.Parameters:N0} params, {rule}: {ms:F0} ms ({megabytes / ms:F2} GB/s), throughput {copy / ms:P0} of memcpy ({copy:F0} ms)");
    }
    lines.AddRange(WireBytes.Report());
}
if (which is "all" or "tls") lines.AddRange(await TlsRoundTrips.RunAsync());
Console.WriteLine();
lines.ForEach(Console.WriteLine);
return 0;

// The benchmark whose description is exactly `description`, else the one containing it ("mean" must not match
// "trimmed_mean").
static double Median(Summary s, string description)
{
    string Name(BenchmarkReport r) => r.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\'');
    var reports = s.Reports.ToArray();
    var report = reports.FirstOrDefault(r => Name(r) == description) ?? reports.Single(r => Name(r).Contains(description));
    return report.ResultStatistics!.Median / 1e6;
}
