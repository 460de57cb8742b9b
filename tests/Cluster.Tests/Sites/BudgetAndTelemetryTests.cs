using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Diagnostics;
using FedGrains.Cluster.Tests.Federation;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;

namespace FedGrains.Cluster.Tests.Sites;

[Collection(nameof(SharedCluster))]
public sealed class BudgetAndTelemetryTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Cluster.Client;

    [Fact]
    public async Task A_round_that_would_exceed_a_gateways_budget_is_refused_and_nothing_is_spent()
    {
        var job = Grains.GetGrain<IFederationGrain>("over-budget");
        // sigma 0.3 for 40 steps at q=0.1 is far above epsilon 1: every gateway must refuse before training.
        var spec = TestCluster.SyntheticJob(rounds: 2, gateways: 2) with
        {
            Defaults = new HyperParameters { BatchSize = 200, NoiseMultiplier = 0.3, LearningRate = 0.5 },
            Privacy = new PrivacySpec { TargetEpsilon = 1, Delta = 1e-5 },
        };

        await job.StartAsync(spec);
        var status = await TestCluster.WaitFinishedAsync(job);

        Assert.Equal(JobState.Failed, status.State);
        Assert.Contains("budget", status.Error);
        Assert.Contains("target 1", status.Error);
        Assert.Equal(0, status.RoundsCompleted);
        foreach (var ledger in await job.GetGatewayPrivacyAsync())
            Assert.Equal(0, ledger.Steps);
    }

    [Fact]
    public async Task Rounds_emit_nested_spans_and_metrics()
    {
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            // As the OpenTelemetry setup does: Orleans only carries trace context when its own sources are listened to.
            ShouldListenTo = s => s.Name == Telemetry.Name || s.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        var measured = new ConcurrentDictionary<string, double>();
        using var meters = new MeterListener
        {
            InstrumentPublished = (instrument, l) => { if (instrument.Meter.Name == Telemetry.Name) l.EnableMeasurementEvents(instrument); },
        };
        meters.SetMeasurementEventCallback<long>((i, v, _, _) => measured.AddOrUpdate(i.Name, v, (_, old) => old + v));
        var accuracies = new ConcurrentQueue<double>();
        meters.SetMeasurementEventCallback<double>((i, v, tags, _) =>
        {
            measured.AddOrUpdate(i.Name, v, (_, old) => Math.Max(old, v));
            if (i.Name == "fedgrains.round.test_accuracy" && tags.ToArray().Any(t => t.Key == "fedgrains.job" && t.Value as string == "traced")) accuracies.Enqueue(v);
        });
        meters.Start();

        var job = Grains.GetGrain<IFederationGrain>("traced");
        await job.StartAsync(TestCluster.SyntheticJob(rounds: 2, gateways: 3));
        Assert.Equal(JobState.Completed, (await TestCluster.WaitFinishedAsync(job)).State);

        // The last round's span ends when its method returns, just after the job is marked completed: let it close.
        for (int i = 0; i < 100 && spans.Count(s => s.OperationName == "round" && s.GetTagItem("fedgrains.job") as string == "traced") < 2; i++)
            await Task.Delay(20);
        var mine = spans.Where(s => s.GetTagItem("fedgrains.job") as string == "traced").ToList();
        var rounds = mine.Where(s => s.OperationName == "round").ToList();
        var trainings = mine.Where(s => s.OperationName == "gateway.train").ToList();
        Assert.Equal(2, rounds.Count);
        Assert.Equal(6, trainings.Count);
        Assert.All(trainings, t => Assert.Contains(rounds, r => r.TraceId == t.TraceId));
        Assert.Equal(2, spans.Count(s => s.OperationName == "aggregate" && rounds.Any(r => r.SpanId == s.ParentSpanId)));
        Assert.True(measured.GetValueOrDefault("fedgrains.rounds.completed") >= 2);
        Assert.True(measured.GetValueOrDefault("fedgrains.bytes.up") > 0);
        Assert.InRange(measured.GetValueOrDefault("fedgrains.privacy.epsilon_spent"), 0.1, 3.0);
        // Per round, the job's accuracy and largest epsilon as gauges: what a dashboard plots.
        Assert.Equal((await job.GetHistoryAsync()).Select(r => r.TestAccuracy), accuracies);
        Assert.InRange(measured.GetValueOrDefault("fedgrains.round.max_epsilon"), 0.1, 3.0);
    }
}
