using System.Globalization;
using System.CommandLine;
using FedGrains.Learning.Datasets;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;

namespace FedGrains.Cli.Commands;

/// <summary>The job flags of `fedgrains run`; each one given overrides the same field of --spec (or of the default job).</summary>
internal sealed class JobOptions
{
    public readonly Option<FileInfo?> Spec = new("--spec") { Description = "Job spec JSON (see docs/job-spec.md); each flag given overrides its field (default none: the default job, Fashion-MNIST over 10 IID gateways)." };
    public readonly Option<long?> Seed = new("--seed") { Description = "Job seed: every other seed (partition, init, sampling, cohorts) derives from it (default 42)." };
    public readonly Option<int?> Rounds = new("--rounds") { Description = "Federated rounds; model versions with --buffer-size (default 20)." };
    public readonly Option<int?> Gateways = new("--gateways") { Description = "Number of gateways sharing the dataset, ids gw-00, gw-01, ...; unused when the spec lists gateways (default 10)." };
    public readonly Option<int?> Cohort = new("--cohort") { Description = "Gateways asked per round, a seeded sample each round; 0 = all (default 0)." };
    public readonly Option<string?> Dataset = new("--dataset") { Description = "fashion-mnist, synthetic (Gaussian clusters, no download) or synthetic-text (token sequences; needs --model text) (default fashion-mnist)." };
    public readonly Option<string?> DataDir = new("--data-dir") { Description = "Folder with the Fashion-MNIST idx files (default $FEDGRAINS_DATA, then /usr/share/datasets/fashion-mnist)." };
    public readonly Option<string?> Partition = new("--partition") { Description = "How gateways split the shared dataset: iid or dirichlet (label skew) (default iid)." };
    public readonly Option<double?> Alpha = new("--dirichlet-alpha") { Description = "Label-skew concentration for --partition dirichlet, > 0; smaller is more skewed (default 0.5)." };
    public readonly Option<string?> Model = new("--model") { Description = "mlp, cnn (tanh CNN for 28x28 images; fashion-mnist only), text (token embedding, then an MLP; needs --dataset synthetic-text), or layers (the --spec file's model.layers) (default mlp, or layers when the spec lists them)." };
    public readonly Option<string?> Activation = new("--activation") { Description = "MLP activation: relu or tanh; unused by cnn and text (default relu)." };
    public readonly Option<string?> Hidden = new("--hidden") { Description = "Hidden widths of the mlp (and text) model, e.g. 256 or 512,128; none for a linear model (default 256)." };
    public readonly Option<string?> Features = new("--features") { Description = "pixels or scattering (ScatterNet features, Tramer & Boneh 2021; fashion-mnist only; no privacy cost) (default pixels)." };
    public readonly Option<double?> Epsilon = new("--epsilon") { Description = "Each gateway's epsilon budget for the whole job, > 0 (default 3)." };
    public readonly Option<double?> Delta = new("--delta") { Description = "delta of the (epsilon, delta) guarantee, in (0, 1) (default 1e-5)." };
    public readonly Option<string?> NoiseLevel = new("--noise-level") { Description = "sample (per-example clipping, epsilon claimed), batch (whole-batch clipping, no epsilon claimed) or none (no privacy) (default sample)." };
    public readonly Option<string?> Accountant = new("--accountant") { Description = "prv (numerical composition, tighter) or rdp: calibrates each gateway's noise and accounts its releases (default prv)." };
    public readonly Option<bool?> SecureNoise = new("--secure-noise") { Description = "Draw DP noise from the OS's cryptographically secure generator (slower) (default off)." };
    public readonly Option<double?> NoiseMultiplier = new("--noise-multiplier") { Description = "Fixed sigma (>= 0) for every gateway instead of calibrating it to --epsilon (default none: calibrated)." };
    public readonly Option<double?> LearningRate = new("--learning-rate") { Description = "Local learning rate, > 0 (default 1; a --spec without defaults.learning_rate gets 0.5)." };
    public readonly Option<double?> ClippingNorm = new("--clipping-norm") { Description = "Per-example L2 clipping norm C, > 0 (default 1)." };
    public readonly Option<int?> BatchSize = new("--batch-size") { Description = "Expected Poisson batch size; sample rate = batch / a gateway's examples (default 256)." };
    public readonly Option<double?> LocalEpochs = new("--local-epochs") { Description = "Local epochs per round, in (0, 100] (default 1)." };
    public readonly Option<string?> Optimizer = new("--optimizer") { Description = "sgd (DP-SGD) or adam (DP-Adam) (default sgd)." };
    public readonly Option<double?> ProximalMu = new("--proximal-mu") { Description = "FedProx mu at every gateway, >= 0; 0 = off (default 0)." };
    public readonly Option<string?> Rule = new("--aggregation-rule") { Description = "mean (FedAvg), median, trimmed_mean, krum or multi_krum (default mean)." };
    public readonly Option<string?> ServerOptimizer = new("--server-optimizer") { Description = "fedavg, fedavgm, fedadagrad, fedadam or fedyogi (default fedavg)." };
    public readonly Option<double?> ServerLearningRate = new("--server-learning-rate") { Description = "Server optimizer learning rate, > 0 (default 1)." };
    public readonly Option<string?> Compression = new("--compression") { Description = "Delta upload encoding: none, quantize (8 bits unless the spec sets bits), top_k or threshold (default none)." };
    public readonly Option<int?> BufferSize = new("--buffer-size") { Description = "Asynchronous buffered mode (FedBuff): a new model version every K updates, 1 <= K <= gateways; --rounds counts versions (default off: synchronous rounds)." };

    public IEnumerable<Option> All => [Spec, Seed, Rounds, Gateways, Cohort, Dataset, DataDir, Partition, Alpha, Features, Model, Activation, Hidden,
        Epsilon, Delta, NoiseLevel, Accountant, SecureNoise, NoiseMultiplier, LearningRate, ClippingNorm, BatchSize, LocalEpochs, Optimizer, ProximalMu, Rule, ServerOptimizer, ServerLearningRate, Compression, BufferSize];

    /// <summary>The job: --spec (or the default job) with every given flag applied on top.</summary>
    public JobSpec Build(ParseResult r)
    {
        var spec = r.GetValue(Spec) is { } file ? JobSpecJson.Load(file.FullName) : DefaultJob.Spec;
        var d = spec.Dataset;
        var h = spec.Defaults;
        var p = spec.Privacy;
        var hidden = r.GetValue(Hidden) is { } text ? ParseWidths(text) : spec.Model.Hidden;
        return spec with
        {
            Seed = r.GetValue(Seed) ?? spec.Seed,
            Rounds = r.GetValue(Rounds) ?? spec.Rounds,
            GatewayCount = r.GetValue(Gateways) ?? spec.GatewayCount,
            CohortSize = r.GetValue(Cohort) ?? spec.CohortSize,
            Model = spec.Model with { Kind = r.GetValue(Model) ?? spec.Model.Kind, Hidden = hidden, Activation = r.GetValue(Activation) ?? spec.Model.Activation },
            Dataset = d with
            {
                Kind = r.GetValue(Dataset) ?? d.Kind,
                DataDir = r.GetValue(DataDir) ?? d.DataDir,
                Partition = r.GetValue(Partition) ?? d.Partition,
                DirichletAlpha = r.GetValue(Alpha) ?? d.DirichletAlpha,
                Features = r.GetValue(Features) ?? d.Features,
            },
            Privacy = p with
            {
                TargetEpsilon = r.GetValue(Epsilon) ?? p.TargetEpsilon,
                Delta = r.GetValue(Delta) ?? p.Delta,
                NoiseLevel = r.GetValue(NoiseLevel) ?? p.NoiseLevel,
                Accountant = r.GetValue(Accountant) ?? p.Accountant,
                SecureNoise = r.GetValue(SecureNoise) ?? p.SecureNoise,
            },
            Aggregation = spec.Aggregation with
            {
                Rule = r.GetValue(Rule) ?? spec.Aggregation.Rule,
                Compression = spec.Aggregation.Compression with { Kind = r.GetValue(Compression) ?? spec.Aggregation.Compression.Kind },
                Buffered = r.GetValue(BufferSize) is { } k ? spec.Aggregation.Buffered with { Enabled = true, BufferSize = k } : spec.Aggregation.Buffered,
                ServerOptimizer = spec.Aggregation.ServerOptimizer with
                {
                    Kind = r.GetValue(ServerOptimizer) ?? spec.Aggregation.ServerOptimizer.Kind,
                    LearningRate = r.GetValue(ServerLearningRate) ?? spec.Aggregation.ServerOptimizer.LearningRate,
                },
            },
            Defaults = h with
            {
                NoiseMultiplier = r.GetValue(NoiseMultiplier) ?? h.NoiseMultiplier,
                LearningRate = r.GetValue(LearningRate) ?? h.LearningRate,
                ClippingNorm = r.GetValue(ClippingNorm) ?? h.ClippingNorm,
                BatchSize = r.GetValue(BatchSize) ?? h.BatchSize,
                LocalEpochs = r.GetValue(LocalEpochs) ?? h.LocalEpochs,
                Optimizer = r.GetValue(Optimizer) ?? h.Optimizer,
                ProximalMu = r.GetValue(ProximalMu) ?? h.ProximalMu,
            },
        };
    }

    /// <summary>What a job trains, as the run and submit commands say it: "mlp model, 203,530 parameters".</summary>
    public static string ModelSummary(JobSpec spec)
    {
        var (shape, classes) = spec.Dataset.Geometry();
        return string.Create(CultureInfo.InvariantCulture, $"{spec.Model.KindOrDefault} model, {ModelSize.Parameters(spec.Model, shape, classes):N0} parameters");
    }

    private static int[] ParseWidths(string text)
    {
        if (text.Trim() == "none") return [];
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var widths = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out widths[i]) || widths[i] < 1)
                throw new JobSpecException([$"--hidden: '{text}' must be comma-separated widths >= 1, e.g. 256 or 512,128, or none for a linear model."]);
        return widths;
    }
}

/// <summary>The default job: Fashion-MNIST over 10 IID gateways, each at epsilon 3 (delta 1e-5) for the whole run.</summary>
internal static class DefaultJob
{
    public static JobSpec Spec { get; } = new()
    {
        Seed = 42,
        Rounds = 20,
        GatewayCount = 10,
        Model = new ModelSpec("mlp", [256]),
        Dataset = new DatasetSpec { Kind = "fashion-mnist", Partition = "iid" },
        Defaults = new HyperParameters { LearningRate = 1.0, ClippingNorm = 1.0, BatchSize = 256, LocalEpochs = 1, Optimizer = "sgd" },
        Privacy = new PrivacySpec { TargetEpsilon = 3, Delta = 1e-5, NoiseLevel = "sample" },
    };
}
