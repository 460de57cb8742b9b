using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.Training;

namespace FedGrains.Cli.Running;

/// <summary>What `fedgrains run` writes into --output: report.json, history.csv and the final model.</summary>
internal sealed record RunReport(string JobId, JobSpec Spec, JobStatus Status, IReadOnlyList<RoundRecord> History,
    IReadOnlyList<GatewayPrivacy> Gateways, ModelSnapshot Model, double WallSeconds, IReadOnlyList<PersonalEvaluation>? Personal = null)
{
    // A round without released training metrics has train_loss NaN: written as null ("empty", as history.csv and the
    // README say); an epsilon that is not claimed stays "Infinity".
    private static readonly JsonSerializerOptions Json = new(JobSpecJson.Options)
    {
        UnmappedMemberHandling = default,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new NaNAsNull() },
    };

    private sealed class NaNAsNull : System.Text.Json.Serialization.JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? double.NaN
            : reader.TokenType == JsonTokenType.String ? double.Parse(reader.GetString()!, CultureInfo.InvariantCulture) : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsNaN(value)) writer.WriteNullValue();
            else if (double.IsInfinity(value)) writer.WriteStringValue(value > 0 ? "Infinity" : "-Infinity");
            else writer.WriteNumberValue(value);
        }
    }

    /// <summary>Writes report.json, history.csv, the model (model.fgw and model.safetensors), the plots (<see cref="Plots"/>, PNG and SVG) and TensorBoard events.</summary>
    public void WriteTo(string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "report.json"), JsonSerializer.Serialize(ToDocument(), Json));
        File.WriteAllText(Path.Combine(directory, "history.csv"), HistoryCsv());
        File.WriteAllBytes(Path.Combine(directory, "model.fgw"), Model.Weights);
        File.WriteAllBytes(Path.Combine(directory, "model.safetensors"), Safetensors());
        Plots.Write(History, Spec, directory);
        TensorBoardLog.Write(History, directory);
    }

    private byte[] Safetensors()
    {
        var (shape, classes) = Spec.Dataset.Geometry();
        using var model = ModelFactory.Create(Spec.Model, shape, classes, seed: 0);
        var metadata = new Dictionary<string, string>
        {
            ["job_id"] = JobId,
            ["model"] = JobSpecJson.Serialize(Spec with { Gateways = null }).ReplaceLineEndings(" "),
            ["model_version"] = Model.Version.ToString(CultureInfo.InvariantCulture),
        };
        return Learning.Codecs.Safetensors.Write(ModelWeights.Layout(model), WeightBuffer.Decode(Model.Weights).Values, metadata);
    }

    public object ToDocument() => new
    {
        JobId,
        State = Status.State.ToString().ToLowerInvariant(),
        Status.Error,
        RoundsPlanned = Spec.Rounds,
        RoundsCompleted = Status.RoundsCompleted,
        FinalTestAccuracy = History.LastOrDefault()?.TestAccuracy,
        FinalTestLoss = History.LastOrDefault()?.TestLoss,
        WallSeconds = Math.Round(WallSeconds, 2),
        // Two clocks, said so: a reader comparing them otherwise sees a discrepancy.
        WallSecondsCovers = "this command's time from its start to the report: starting the silo, admitting the job (data, noise calibration), every round; started_at and finished_at are the job's own span in the federation, from its admission to its last round",
        Status.StartedAt,
        Status.FinishedAt,
        Seed = Spec.Seed,
        ModelVersion = Model.Version,
        FinalTestEvaluation = FinalEvaluation(),
        Personalization = PersonalizationReport(),
        Versions = new
        {
            Fedgrains = Version(typeof(RunReport).Assembly),
            Orleans = Version(typeof(Grain).Assembly),
            Torchsharp = Version(typeof(TorchSharp.torch).Assembly),
            Dotnet = Environment.Version.ToString(),
        },
        Privacy = new
        {
            Spec.Privacy.NoiseLevel,
            Spec.Privacy.TargetEpsilon,
            Spec.Privacy.Delta,
            Spec.Privacy.Accountant,
            Guarantee = Spec.Privacy.NoiseLevel == "sample"
                ? "each gateway's epsilon bounds what everything it released (deltas, noised metrics) and the final model reveal about any one example of that gateway's data"
                : "no epsilon is claimed for this noise level",
            TrainMetrics = Spec.Privacy.TrainMetrics.Mode == "noised"
                ? $"each gateway's training loss is released with DP (loss clipped to [0, {Spec.Privacy.TrainMetrics.LossBound}], noise multiplier {Spec.Privacy.TrainMetrics.NoiseMultiplier}) and counted in its epsilon"
                : "gateways release no training metric (train_loss is empty); test metrics come from the federation's own data",
            UpdateLevel = UpdateLevelGuarantee(),
            SecureAggregation = SecureAggregationGuarantee(),
            PublicData = Spec.Dataset.PublicExamples > 0
                ? $"{Spec.Dataset.PublicExamples} examples of the shared training set are declared public and held at the federation, disjoint from every gateway's data" +
                  (Spec.PublicPretraining.Epochs > 0 ? $"; model version 0 was trained on them ({Spec.PublicPretraining.Epochs} epochs of SGD, no clipping or noise), at no site's privacy cost" : "; nothing was trained on them")
                : null,
        },
        Gateways = Gateways.OrderBy(g => g.GatewayId, StringComparer.Ordinal).Select(g => new
        {
            Id = g.GatewayId,
            g.Epsilon,
            g.Delta,
            g.SampleRate,
            g.NoiseMultiplier,
            g.Steps,
            g.NoiseLevel,
            g.Accountant,
            g.UpdateEpsilon,
            g.SecureSumEpsilon,
            g.MetricReleases,
            g.MetricNoiseMultiplier,
            Reproduce = g.MetricReleases > 0
                ? "composes DP-SGD steps with noised metric releases: the privacy epsilon command covers one mechanism only"
                : string.Create(CultureInfo.InvariantCulture,
                    $"fedgrains privacy epsilon --sample-rate {g.SampleRate:R} --noise-multiplier {g.NoiseMultiplier:R} --steps {g.Steps} --delta {g.Delta:R} --accountant {g.Accountant}"),
        }),
        Spec,
        History,
    };

    /// <summary>The mean of the personal accuracies the sites released (noised), or null when none did.</summary>
    public double? MeanPersonalAccuracy() =>
        Personal?.Where(p => p.Accuracy is not null).Select(p => p.Accuracy!.Value).DefaultIfEmpty(double.NaN).Average() is var mean and not double.NaN ? mean : null;

    /// <summary>A personalised job's sites (model.local): each one's own model on its own held-out data, as released.</summary>
    private object? PersonalizationReport()
    {
        if (Spec.Model.Local is not { Length: > 0 } local) return null;
        var z = Spec.Personalization.AccuracyNoiseMultiplier;
        return new
        {
            LocalLayers = local,
            Spec.Personalization.HeldOutFraction,
            Spec.Personalization.AccuracyNoiseMultiplier,
            Meaning = $"the layers {string.Join(", ", local)} are trained at each site and never sent: the exported model holds the federation's initial copy of them, and final_test_accuracy is the shared layers with that copy. "
                + (z > 0
                    ? $"Each site's accuracy is its own model (the final shared layers with its own local layers) on the {Spec.Personalization.HeldOutFraction:P0} of its examples it held out of training, released once with Gaussian noise of {z} examples on the count of correct predictions and counted in its epsilon"
                    : "No site released its accuracy (accuracy_noise_multiplier 0): each logged it on its own silo only"),
            MeanAccuracy = MeanPersonalAccuracy(),
            Sites = (Personal ?? []).OrderBy(p => p.GatewayId, StringComparer.Ordinal).Select(p => new
            {
                Gateway = p.GatewayId,
                Site = Spec.ResolveGateways().FirstOrDefault(g => g.Id == p.GatewayId)?.SiteId,
                p.HeldOutExamples,
                p.Accuracy,
                p.OwnLocalLayers,
                p.ModelVersion,
                p.Error,
            }),
        };
    }

    /// <summary>The last round's model on the federation's test set, class by class (no site's data: costs no privacy).</summary>
    private object? FinalEvaluation()
    {
        if (History.LastOrDefault()?.Confusion is not { } confusion) return null;
        var metrics = new ClassificationMetrics((int)Math.Round(Math.Sqrt(confusion.Count)), [.. confusion]);
        return new
        {
            metrics.Classes,
            PerClassAccuracy = metrics.PerClassAccuracy(),
            PerClassF1 = metrics.F1(),
            MacroF1 = metrics.MacroF1(),
            ConfusionMatrix = metrics.Rows(),
            ConfusionMatrixAxes = "rows: the true class, columns: the predicted class",
        };
    }

    /// <summary>What update-level DP, if any, protects: whole sites, with the amplification that really applies.</summary>
    private string? UpdateLevelGuarantee()
    {
        int gateways = Spec.ResolveGateways().Count;
        var parts = new List<string>();
        if (Spec.Privacy.LocalUpdateDp.Enabled)
            parts.Add($"local: each gateway clips its delta to {Spec.Privacy.LocalUpdateDp.ClippingNorm} and adds noise (z = {Spec.Privacy.LocalUpdateDp.NoiseMultiplier}) before sending; update_epsilon bounds what the federation itself learns about a site's whole data (no sampling amplification: a site knows it takes part)");
        if (Spec.Aggregation.CentralDp.Enabled)
            parts.Add($"central: the federation noises the sum of clipped updates, so central_epsilon in the history bounds what the model reveals about any one site's whole data, but the federation sees individual updates; with {gateways} gateways"
                + (Spec.CohortSize is > 0 and var c && c < gateways ? $" and cohorts of {c}, cohort sampling amplifies only by q = {(double)c / gateways:G3}" : " all taking part, there is no sampling amplification"));
        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    /// <summary>What the federation sees under secure aggregation, what it tolerates, and what the distributed noise protects.</summary>
    private object? SecureAggregationGuarantee()
    {
        var secure = Spec.Aggregation.Secure;
        if (!secure.Enabled) return null;
        int cohort = Spec.CohortCount();
        int parameters = History.Count > 0 && History[0].Participants.Count > 0 ? (int)(History[0].BytesUpDense / 4 / History[0].Participants.Count) : 1;
        var plan = Learning.SecureAggregation.SecureRoundPlan.For(secure, cohort, Math.Max(1, parameters));
        return new
        {
            Protocol = plan.Neighbours >= cohort - 1 ? "SecAgg (every gateway masks with every other)" : $"SecAgg+ (each gateway masks with {plan.Neighbours} neighbours)",
            Sees = "each round's sum of the surviving gateways' clipped deltas (integers mod 2^bits), who took part and who dropped out; never one gateway's delta",
            CannotSee = "any single gateway's delta: it arrives masked, and no gateway gives the shares that would remove the masks of one input",
            Trusts = "the federation to follow the protocol (honest but curious): one that told different gateways different survivor lists could collect both kinds of shares of one gateway from different neighbours and unmask its delta; the signed consistency check of Bell et al. against that is not built yet",
            DropoutTolerance = $"a round is unmasked while at least {plan.MinSurvivors} of {cohort} gateways survive every stage and each survivor keeps {plan.Threshold} of its {plan.Neighbours} neighbours; otherwise it is retried from scratch",
            secure.Bits,
            secure.ClippingNorm,
            plan.WrapProbability,
            BytesUpPerRound = History.Count > 0 ? History[^1].BytesUp : (long?)null,
            DistributedNoise = secure.NoiseMultiplier > 0
                ? $"each gateway adds discrete Gaussian noise so that the sum of all {cohort} carries z = {secure.NoiseMultiplier} times the clipping norm; secure_sum_epsilon (per gateway, and in each site's ledger) bounds what the released sums reveal about a site's whole data, accounted in RDP at the worst number of survivors a sum can hold (usually the fewest it is unmasked with, {plan.MinSurvivors})"
                : "none: each site's DP-SGD noise protects its examples, nothing protects a site's whole data",
        };
    }

    public string HistoryCsv()
    {
        var csv = new StringBuilder("round,participants,rejected,examples,train_loss,test_accuracy,test_loss,max_epsilon,bytes_down,bytes_up,bytes_up_dense,seconds,aggregation_seconds,mean_staleness,central_epsilon\n");
        foreach (var r in History)
        {
            var eps = r.Privacy.Select(p => p.Epsilon).Where(e => e is not null).Max();
            csv.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Round},{r.Participants.Count},{r.Rejected.Count},{r.Examples},{(double.IsNaN(r.TrainLoss) ? "" : r.TrainLoss.ToString("G6", CultureInfo.InvariantCulture))},{r.TestAccuracy:G6},{r.TestLoss:G6},{eps:G6},{r.BytesDown},{r.BytesUp},{r.BytesUpDense},{r.Seconds:F3},{r.AggregationSeconds:F3},{(r.Staleness is { Count: > 0 } st ? st.Average() : 0):G4},{r.CentralEpsilon:G6}"));
        }
        return csv.ToString();
    }

    // Informational versions carry build metadata ("10.4.2+abc", "10.4.2. Commit Hash: abc"): keep the version.
    private static string Version(Assembly assembly) =>
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+', ' ')[0].TrimEnd('.')
        ?? assembly.GetName().Version?.ToString() ?? "unknown";
}
