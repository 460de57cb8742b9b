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
var summary = BenchmarkRunner.Run<DpStepBenchmark>(config, args);

static double Median(Summary s, string description) =>
    s.Reports.Single(r => r.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Contains(description)).ResultStatistics!.Median / 1e6;

double plain = Median(summary, "non-private"), clip = Median(summary, "clipping only"), dp = Median(summary, "clipping + noise");
Console.WriteLine($"MLP 784-256-10, batch 256, {Environment.ProcessorCount} threads: non-private {plain:F2} ms/step, DP clipping only {clip:F2} ms/step, DP clipping + noise {dp:F2} ms/step");
Console.WriteLine($"ratio DP/non-private = {dp / plain:F2}x (clipping only {clip / plain:F2}x)");
