using System.Diagnostics.Metrics;
using System.Diagnostics;

namespace FedGrains.Grains;

/// <summary>The one ActivitySource and Meter of FedGrains, and its instruments.</summary>
public static class Telemetry
{
    public const string Name = "FedGrains";

    public static readonly ActivitySource Source = new(Name, "1.0");
    public static readonly Meter Meter = new(Name, "1.0");

    public static readonly Histogram<double> RoundDuration =
        Meter.CreateHistogram<double>("fedgrains.round.duration", "s", "Wall time of a federated round.");
    public static readonly Histogram<double> GatewayTrainingDuration =
        Meter.CreateHistogram<double>("fedgrains.gateway.training.duration", "s", "Local DP-SGD time of one gateway in one round.");
    public static readonly Histogram<double> AggregationDuration =
        Meter.CreateHistogram<double>("fedgrains.aggregation.duration", "s", "Validation, aggregation and evaluation time of a round.");
    public static readonly Counter<long> BytesDown =
        Meter.CreateCounter<long>("fedgrains.bytes.down", "By", "Model bytes sent from the federation to gateways.");
    public static readonly Counter<long> BytesUp =
        Meter.CreateCounter<long>("fedgrains.bytes.up", "By", "Delta bytes sent from gateways to the federation.");
    public static readonly Histogram<double> EpsilonSpent =
        Meter.CreateHistogram<double>("fedgrains.privacy.epsilon_spent", "{epsilon}", "A gateway's epsilon after a round (all its rounds so far).");
    public static readonly Counter<long> UpdatesRejected =
        Meter.CreateCounter<long>("fedgrains.updates.rejected", "{update}", "Gateway updates refused or rejected by validation.");
    public static readonly Counter<long> SecureRoundDropouts =
        Meter.CreateCounter<long>("fedgrains.secagg.dropouts", "{gateway}", "Gateways of a secure round's cohort whose delta is not in its unmasked sum.");
    public static readonly Counter<long> SecureRoundsAborted =
        Meter.CreateCounter<long>("fedgrains.secagg.aborted", "{attempt}", "Secure round attempts aborted with nothing unmasked (too many dropouts, or altered messages).");
    public static readonly Histogram<double> SecureStageDuration =
        Meter.CreateHistogram<double>("fedgrains.secagg.stage.duration", "s", "Wall time of one stage of a secure round attempt (train and keys, sharing keys, masking, unmasking, federation's unmasking).");
    public static readonly Counter<long> CallsRefused =
        Meter.CreateCounter<long>("fedgrains.calls.refused", "{call}", "Client calls refused: internal grains, bad or replayed credentials, roles or jobs not the caller's.");
    public static readonly Counter<long> RoundsCompleted =
        Meter.CreateCounter<long>("fedgrains.rounds.completed", "{round}", "Rounds completed and persisted.");

    public static readonly Gauge<double> TestAccuracy =
        Meter.CreateGauge<double>("fedgrains.round.test_accuracy", "1", "The federation's test accuracy after a round, per job (tag fedgrains.job).");
    public static readonly Gauge<double> MaxEpsilon =
        Meter.CreateGauge<double>("fedgrains.round.max_epsilon", "{epsilon}", "The largest epsilon a gateway of the job has spent after a round (tag fedgrains.job).");

    /// <summary>Records a persisted round's duration, aggregation time and bytes, and the job's accuracy and largest epsilon after it.</summary>
    public static void RecordRound(string jobId, Interfaces.RoundRecord record)
    {
        var job = new KeyValuePair<string, object?>("fedgrains.job", jobId);
        TestAccuracy.Record(record.TestAccuracy, job);
        if (record.MaxEpsilon() is { } epsilon) MaxEpsilon.Record(epsilon, job);
        RoundsCompleted.Add(1);
        RoundDuration.Record(record.Seconds);
        AggregationDuration.Record(record.AggregationSeconds);
        BytesDown.Add(record.BytesDown);
        BytesUp.Add(record.BytesUp);
    }
}
