using FedGrains.Learning.Aggregation;
using FedGrains.Learning.Models;
using FedGrains.Learning.SecureAggregation;
using FedGrains.Learning.Training;

namespace FedGrains.Learning.Jobs;

/// <summary>Checks a job spec before anything is stored or trained; every problem names the field and the fix.</summary>
public static class JobSpecValidator
{
    public static IReadOnlyList<string> Problems(JobSpec spec)
    {
        var p = new List<string>();
        if (spec.Rounds < 1) p.Add($"rounds: {spec.Rounds} must be >= 1.");
        if (spec.RoundTimeoutSeconds is <= 0 or > 86400) p.Add($"round_timeout_seconds: {spec.RoundTimeoutSeconds} must be in (0, 86400].");
        ModelProblems(spec, p);

        var d = spec.Dataset;
        if (d.Kind is not ("fashion-mnist" or "synthetic" or "synthetic-text")) p.Add($"dataset.kind: '{d.Kind}' is not known; use \"fashion-mnist\", \"synthetic\" or \"synthetic-text\".");
        if (d.Partition is not ("iid" or "dirichlet")) p.Add($"dataset.partition: '{d.Partition}' is not known; use \"iid\" or \"dirichlet\".");
        if (d.Evaluation is not ("test" or "validation")) p.Add($"dataset.evaluation: '{d.Evaluation}' is not known; use \"test\" or \"validation\" (tuning).");
        else if (d.Evaluation == "validation" && (d.ValidationExamples < 1 || d.ValidationExamples >= (d.Kind == "fashion-mnist" ? 60000 : d.SyntheticTrainExamples)))
            p.Add($"dataset.validation_examples: {d.ValidationExamples} must be >= 1 and leave training examples for the gateways.");
        int trainExamples = d.Kind == "fashion-mnist" ? 60000 : d.SyntheticTrainExamples;
        if (d.PublicExamples < 0 || d.PublicExamples > 0 && (long)d.PublicExamples + (d.Evaluation == "validation" ? d.ValidationExamples : 0) >= trainExamples)
            p.Add($"dataset.public_examples: {d.PublicExamples} must be >= 0 and leave training examples for the gateways ({trainExamples} in the training set{(d.Evaluation == "validation" ? $", {d.ValidationExamples} held out for validation" : "")}).");
        p.AddRange(spec.PublicPretraining.Problems(d.PublicExamples));
        if (d.Features is not ("pixels" or "scattering")) p.Add($"dataset.features: '{d.Features}' is not known; use \"pixels\" or \"scattering\" (ScatterNet).");
        else if (d.Features == "scattering" && d.Kind != "fashion-mnist")
            p.Add($"dataset.features: \"scattering\" needs images; dataset.kind '{d.Kind}' is not an image dataset, use \"pixels\".");
        if (!(d.DirichletAlpha > 0)) p.Add($"dataset.dirichlet_alpha: {d.DirichletAlpha} must be > 0 (e.g. 0.5).");
        if (d.Kind == "synthetic-text" && (d.SyntheticSequenceLength < 1 || d.SyntheticVocabulary < d.SyntheticClasses * 5 + 1))
            p.Add($"dataset.synthetic_sequence_length must be >= 1 and synthetic_vocabulary at least 5 x classes + 1 ({d.SyntheticClasses * 5 + 1}).");
        if (d.Kind is "synthetic" or "synthetic-text" && (d.SyntheticTrainExamples < 1 || d.SyntheticTestExamples < 1 || d.SyntheticFeatures < 1 || d.SyntheticClasses < 2))
            p.Add("dataset.synthetic_*: example counts and features must be >= 1 and classes >= 2.");
        if (spec.Model.KindOrDefault == "cnn" && d.Kind != "fashion-mnist") p.Add("model.kind: \"cnn\" needs 28x28 images; use \"mlp\" with the synthetic dataset, or give model.layers.");

        if (spec.Gateways is { Count: 0 })
            p.Add("gateways: [] lists no gateway; list at least one, or leave gateways out to use gateway_count.");
        var gateways = spec.Gateways is { Count: > 0 } ? spec.Gateways : null;
        if (gateways is null && spec.GatewayCount < 1) p.Add($"gateway_count: {spec.GatewayCount} must be >= 1.");
        var resolved = spec.ResolveGateways();
        foreach (var dup in resolved.GroupBy(g => g.Id).Where(g => g.Count() > 1))
            p.Add($"gateways: id '{dup.Key}' appears {dup.Count()} times; ids must be unique.");
        for (int i = 0; i < resolved.Count; i++)
        {
            var g = resolved[i];
            var at = $"gateways[{i}]";
            if (IdProblem($"{at}.id", g.Id) is { } badId) p.Add(badId);
            if (g.Site is { } site && !IsId(site))
                p.Add($"{at}.site: '{Shown(site)}' must be 1-{MaxIdLength} letters, digits, '-', '_' or '.', and not only dots (or left out to use the gateway id).");
            if (g.Source is { } s)
            {
                bool csv = !string.IsNullOrWhiteSpace(s.Csv), idx = !string.IsNullOrWhiteSpace(s.Images) || !string.IsNullOrWhiteSpace(s.Labels);
                bool named = s.Dataset is not null, folder = !string.IsNullOrWhiteSpace(s.Folder);
                if ((csv ? 1 : 0) + (idx ? 1 : 0) + (named ? 1 : 0) + (folder ? 1 : 0) != 1)
                    p.Add($"{at}.source: give one of dataset (a name the site declares), csv, images and labels, or folder.");
                else if (named && IdProblem($"{at}.source.dataset", s.Dataset) is { } badName)
                    p.Add(badName);
                else if (idx && (string.IsNullOrWhiteSpace(s.Images) || string.IsNullOrWhiteSpace(s.Labels)))
                    p.Add($"{at}.source: an idx source needs both images and labels.");
            }
            CheckHyperParameters(p, spec.Defaults.With(g.Overrides), g.Overrides is null ? "defaults" : $"{at}.overrides (merged with defaults)");
        }
        int sharedGateways = resolved.Count(g => g.Source is null);
        if (d.Kind is "synthetic" or "synthetic-text" && sharedGateways > d.SyntheticTrainExamples)
            p.Add($"gateway_count: {sharedGateways} gateways cannot share {d.SyntheticTrainExamples} synthetic examples.");
        if (spec.CohortSize < 0 || spec.CohortSize > resolved.Count)
            p.Add($"cohort_size: {spec.CohortSize} must be between 0 (all) and the number of gateways ({resolved.Count}).");
        int cohort = spec.CohortSize == 0 ? resolved.Count : spec.CohortSize;
        if (spec.MinUpdatesPerRound < 1 || spec.MinUpdatesPerRound > cohort)
            p.Add($"min_updates_per_round: {spec.MinUpdatesPerRound} must be between 1 and the cohort size ({cohort}).");

        var buffered = spec.Aggregation.Buffered;
        if (buffered.Enabled) CheckBuffered(p, spec, buffered, resolved.Count);
        if (buffered.Enabled) CheckAggregation(p, spec.Aggregation, buffered.BufferSize, "aggregation.buffered.buffer_size", "version");
        else CheckAggregation(p, spec.Aggregation, spec.MinUpdatesPerRound, "min_updates_per_round", "round");
        if (spec.Aggregation.Secure.Enabled) CheckSecure(p, spec, cohort);

        var privacy = spec.Privacy;
        if (!TryParseNoiseLevel(privacy.NoiseLevel, out _)) p.Add($"privacy.noise_level: '{Shown(privacy.NoiseLevel)}' is not known; use \"sample\", \"batch\" or \"none\" (lower case).");
        if (!Privacy.PrivacyAccountants.IsKnown(privacy.Accountant))
            p.Add($"privacy.accountant: '{privacy.Accountant}' is not known; use \"prv\" (default, tighter) or \"rdp\".");
        if (privacy.LocalUpdateDp.Enabled && (!(privacy.LocalUpdateDp.ClippingNorm > 0) || !(privacy.LocalUpdateDp.NoiseMultiplier > 0)
                                              || double.IsInfinity(privacy.LocalUpdateDp.ClippingNorm) || double.IsInfinity(privacy.LocalUpdateDp.NoiseMultiplier)))
            p.Add("privacy.local_update_dp: clipping_norm and noise_multiplier must be positive numbers.");
        if (privacy.TrainMetrics.Mode is not ("none" or "noised"))
            p.Add($"privacy.train_metrics.mode: '{privacy.TrainMetrics.Mode}' is not known; use \"none\" (nothing released) or \"noised\" (DP, accounted).");
        else if (privacy.TrainMetrics.Mode == "noised" && (!(privacy.TrainMetrics.NoiseMultiplier > 0) || !(privacy.TrainMetrics.LossBound > 0)))
            p.Add("privacy.train_metrics: noise_multiplier and loss_bound must be > 0.");
        if (!(privacy.TargetEpsilon > 0) || privacy.TargetEpsilon > Privacy.PrivacyAccountants.MaxTargetEpsilon)
            p.Add($"privacy.target_epsilon: {privacy.TargetEpsilon} must be in (0, {Privacy.PrivacyAccountants.MaxTargetEpsilon}], e.g. 3; for no privacy use noise_level \"none\".");
        if (privacy.Delta is <= 0 or >= 1) p.Add($"privacy.delta: {privacy.Delta} must be in (0, 1), e.g. 1e-5 (below 1/examples per gateway).");
        return p;
    }

    /// <summary>Throws <see cref="JobSpecException"/> listing every problem, if any.</summary>
    public static void Validate(JobSpec spec)
    {
        var problems = Problems(spec);
        if (problems.Count > 0) throw new JobSpecException(problems);
    }

    /// <summary>One spelling each ("sample", "batch", "none"): "SAMPLE" is refused, not read as something else elsewhere.</summary>
    public static bool TryParseNoiseLevel(string text, out NoiseLevel level)
    {
        (bool known, level) = text switch
        {
            "sample" => (true, NoiseLevel.Sample),
            "batch" => (true, NoiseLevel.Batch),
            "none" => (true, NoiseLevel.None),
            _ => (false, default),
        };
        return known;
    }

    /// <summary>An id a person can read, a key and a file name can hold: 1-64 letters, digits, '-', '_' or '.', not only dots.</summary>
    private static void InitialWeightsProblems(ModelSpec m, List<string> p)
    {
        if (m.InitialWeights is null)
        {
            if (m.InitialWeightsSha256 is not null || m.InitialWeightsRename is not null)
                p.Add("model.initial_weights_sha256 / initial_weights_rename: given without model.initial_weights; name the safetensors file, or leave them out.");
            return;
        }
        if (string.IsNullOrWhiteSpace(m.InitialWeights)) p.Add("model.initial_weights: is empty; name a safetensors file, or leave it out for a seeded random start.");
        if (m.InitialWeightsSha256 is not { Length: 64 } sha || !sha.All(char.IsAsciiHexDigitLower))
            p.Add("model.initial_weights_sha256: must be the file's SHA-256 as 64 lowercase hex digits; `fedgrains run` and `submit` fill it in from the file (leave it out there).");
        if (m.InitialWeightsRename is { } rename)
        {
            if (rename.Count > 10_000) p.Add($"model.initial_weights_rename: {rename.Count} entries are more than 10,000.");
            else if (rename.FirstOrDefault(r => r.Key.Length is 0 or > 1000 || r.Value is null || r.Value.Length is 0 or > 1000) is { Key: not null } bad)
                p.Add($"model.initial_weights_rename: '{Shown(bad.Key)}' -> '{Shown(bad.Value)}': both must be 1-1000 characters.");
        }
    }

    // The model: a preset kind or a layer list, whose shapes must fit the data (known from the spec: every site's data
    // must match the job's dataset shape), and token models go with token data.
    private static void ModelProblems(JobSpec spec, List<string> p)
    {
        int before = p.Count;
        var m = spec.Model;
        var kind = m.KindOrDefault;
        if (kind is not ("mlp" or "cnn" or "text" or "layers"))
            p.Add($"model.kind: '{Shown(kind)}' is not known; use \"mlp\", \"cnn\", \"text\", or give model.layers (kind \"layers\").");
        if (m.Layers is not null && kind != "layers")
            p.Add($"model.layers: given with model.kind '{Shown(kind)}', which is a preset with its own layers; leave model.kind out (or set it to \"layers\") to train the list.");
        if (kind == "layers")
        {
            if (m.Layers is null) p.Add("model.kind: \"layers\" needs model.layers, e.g. [{\"type\": \"flatten\"}, {\"type\": \"linear\", \"out\": 10}].");
            if (m.Hidden is not null) p.Add("model.hidden: sizes the presets only; with model.layers give each layer's \"out\" in the list.");
            if (m.Layers is { } layers) p.AddRange(ModelLayout.Problems(layers));
        }
        InitialWeightsProblems(m, p);
        if (m.Hidden is { } hidden && hidden.Any(h => h < 1))
            p.Add("model.hidden: layer widths must be >= 1, e.g. [256]; [] is a linear model.");
        var embedding = kind == "layers" ? m.Layers?.FirstOrDefault(l => l?.Type == "embedding") : null;
        bool tokens = kind == "text" || embedding is not null;
        if (tokens != (spec.Dataset.Kind == "synthetic-text"))
            p.Add(tokens
                ? $"model: an embedding reads token ids, which only dataset.kind \"synthetic-text\" gives; dataset '{Shown(spec.Dataset.Kind)}' gives features: use model.kind \"mlp\" or a list without embedding."
                : $"dataset.kind: \"synthetic-text\" gives token ids, which only an embedding reads: use model.kind \"text\" or a list that starts with an embedding.");
        else if (tokens && (embedding?.Vocabulary ?? m.Vocabulary) is var vocabulary && vocabulary < spec.Dataset.SyntheticVocabulary)
            p.Add($"{(embedding is null ? "model.vocabulary" : "model.layers[0].vocabulary")}: {vocabulary} is smaller than dataset.synthetic_vocabulary ({spec.Dataset.SyntheticVocabulary}); the embedding must cover every token id.");
        // With the fields sound, the shapes: each layer must fit its input and the last must give one score per class.
        bool known = spec.Dataset.Kind is "fashion-mnist" or "synthetic" or "synthetic-text" && !(kind == "cnn" && spec.Dataset.Kind != "fashion-mnist");
        if (p.Count == before && known)
        {
            var (shape, classes) = spec.Dataset.Geometry();
            try { LocalLayerProblems(m, ModelFactory.Plan(m, shape, classes), p); }
            catch (ArgumentException e) { p.Add(e.Message); }
        }
        p.AddRange(spec.Personalization.Problems(m));
    }

    // Personal layers (FedPer): named layers with parameters, neither frozen nor all of them (something must be shared).
    private static void LocalLayerProblems(ModelSpec m, IReadOnlyList<PlannedLayer> plan, List<string> p)
    {
        if (m.Local is not { } local) return;
        var trainable = plan.Where(l => l.Parameters > 0).Select(l => l.Name).ToArray();
        if (local.Length == 0) p.Add("model.local: [] lists no layer; name the layers each site keeps to itself (e.g. [\"out\"]), or leave it out.");
        foreach (var name in local)
        {
            if (name is null) p.Add("model.local: holds a null; list layer names, e.g. [\"out\"].");
            else if (!trainable.Contains(name))
                p.Add($"model.local: '{Shown(name)}' names no layer with parameters; this model's are {string.Join(", ", trainable)}.");
            else if (m.Frozen?.Contains(name) == true)
                p.Add($"model.local: '{Shown(name)}' is also in model.frozen; a layer is either frozen (never trained) or local (trained at each site), not both.");
        }
        var shared = trainable.Where(n => !local.Contains(n) && m.Frozen?.Contains(n) != true).ToArray();
        if (local.Length > 0 && local.All(n => n is not null && trainable.Contains(n)) && shared.Length == 0)
            p.Add("model.local: leaves no layer to train together (every layer is local or frozen); keep at least one shared layer, or train each site alone.");
    }

    private static bool IsId(string? id) =>
        id is { Length: >= 1 and <= MaxIdLength } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && id.Any(c => c != '.');

    public const int MaxIdLength = 64;

    /// <summary>Above this sigma no signal survives a step and the noise overflows float32 arithmetic (1e308 gave NaN deltas).</summary>
    public const double MaxNoiseMultiplier = 1000;

    /// <summary>Why <paramref name="id"/> cannot be an id (the field is named), or null: job ids become grain keys and file names.</summary>
    public static string? IdProblem(string field, string? id) =>
        IsId(id) ? null : $"{field}: '{Shown(id)}' must be 1-{MaxIdLength} letters, digits, '-', '_' or '.', and not only dots.";

    /// <summary>A refused value as the message shows it: at most 40 characters of it, so a huge value is not echoed back whole.</summary>
    public static string Shown(string? value) => value is null ? "" : value.Length <= 40 ? value : $"{value[..40]}... ({value.Length} characters)";

    private static void CheckAggregation(List<string> p, AggregationSpec a, int minUpdates, string updatesField, string per)
    {
        if (a.Rule is not ("mean" or "median" or "trimmed_mean" or "krum" or "multi_krum"))
            p.Add($"aggregation.rule: '{a.Rule}' is not known; use mean, median, trimmed_mean, krum or multi_krum.");
        if (a.TrimBeta is < 0 or >= 0.5) p.Add($"aggregation.trim_beta: {a.TrimBeta} must be in [0, 0.5).");
        if (a.Byzantine < 0) p.Add($"aggregation.byzantine: {a.Byzantine} must be >= 0.");
        if (a.MultiKrumSelected < 0) p.Add($"aggregation.multi_krum_selected: {a.MultiKrumSelected} must be >= 0 (0 = n - f).");
        if (a.Rule is "krum" or "multi_krum" && minUpdates <= 2 * a.Byzantine + 2)
            p.Add($"{updatesField}: Krum with aggregation.byzantine={a.Byzantine} needs more than {2 * a.Byzantine + 2} updates per {per}; set it to at least {2 * a.Byzantine + 3}.");
        if (a.CentralDp.Enabled)
        {
            var dp = a.CentralDp;
            if (!(dp.NoiseMultiplier > 0) || double.IsInfinity(dp.NoiseMultiplier)) p.Add($"aggregation.central_dp.noise_multiplier: {dp.NoiseMultiplier} must be > 0.");
            if (dp.ExpectedUpdates < 0 || dp.CountNoise < 0) p.Add("aggregation.central_dp: expected_updates and count_noise must be >= 0.");
            if (a.Clipping.Mode == "off")
                p.Add("aggregation.clipping: central DP needs bounded sensitivity; set aggregation.clipping.mode to fixed or adaptive.");
            if (a.Rule != "mean")
                p.Add($"aggregation.rule: '{a.Rule}' needs individual updates, so it cannot follow central noise on the sum; use \"mean\" with central DP.");
            if (a.Zeroing.Mode == "adaptive")
                p.Add("aggregation.zeroing: adaptive zeroing looks at individual update norms without noise, which central DP does not account for; use fixed zeroing or none.");
            if (a.DiscardHarmful.Enabled)
                p.Add("aggregation.discard_harmful: judging each update on validation data looks at individual updates, which central DP does not account for; turn one of them off.");
        }
        if (a.DiscardHarmful.Enabled && (a.DiscardHarmful.ValidationExamples < 1 || !(a.DiscardHarmful.Tolerance >= 0)))
            p.Add("aggregation.discard_harmful: validation_examples must be >= 1 and tolerance >= 0.");
        var c = a.Compression;
        if (c.Kind is not ("none" or "quantize" or "top_k" or "threshold"))
            p.Add($"aggregation.compression.kind: '{c.Kind}' is not known; use none, quantize, top_k or threshold.");
        if (c.Bits is < 1 or > 16) p.Add($"aggregation.compression.bits: {c.Bits} must be in 1..16.");
        if (c.MinSize < 0) p.Add($"aggregation.compression.min_size: {c.MinSize} must be >= 0.");
        if (c.TopKFraction is <= 0 or > 1) p.Add($"aggregation.compression.top_k_fraction: {c.TopKFraction} must be in (0, 1].");
        if (!(c.Threshold >= 0)) p.Add($"aggregation.compression.threshold: {c.Threshold} must be >= 0.");
        CheckNormStage(p, a.Zeroing, "aggregation.zeroing");
        CheckNormStage(p, a.Clipping, "aggregation.clipping");
        var o = a.ServerOptimizer;
        if (o.Kind is not ("fedavg" or "fedavgm" or "fedadagrad" or "fedadam" or "fedyogi"))
            p.Add($"aggregation.server_optimizer.kind: '{o.Kind}' is not known; use fedavg, fedavgm, fedadagrad, fedadam or fedyogi.");
        if (!(o.LearningRate > 0) || double.IsInfinity(o.LearningRate)) p.Add($"aggregation.server_optimizer.learning_rate: {o.LearningRate} must be > 0.");
        if (o.Beta1 is < 0 or >= 1 || o.Beta2 is < 0 or >= 1) p.Add("aggregation.server_optimizer.beta1/beta2 must be in [0, 1).");
        if (!(o.Tau > 0)) p.Add($"aggregation.server_optimizer.tau: {o.Tau} must be > 0 (e.g. 1e-3).");
    }

    /// <summary>
    /// Under secure aggregation the federation sees only the sum, so whatever needs one gateway's update is refused,
    /// saying why: it could not run, or it would need what the protocol hides.
    /// </summary>
    private static void CheckSecure(List<string> p, JobSpec spec, int cohort)
    {
        var a = spec.Aggregation;
        const string why = "the federation sees only the sum of the deltas under aggregation.secure";
        if (a.Buffered.Enabled) p.Add("aggregation.buffered: buffered rounds release each update as it arrives; secure aggregation sums a whole round's cohort. Turn one of them off.");
        if (a.Rule != "mean") p.Add($"aggregation.rule: '{a.Rule}' needs individual updates, and {why}; use \"mean\".");
        if (a.Zeroing.Mode != "off") p.Add($"aggregation.zeroing: zeroing judges each update's norm, and {why}; set its mode to off (aggregation.secure.clipping_norm bounds every delta at its gateway).");
        if (a.Clipping.Mode != "off") p.Add($"aggregation.clipping: the federation clips each update, and {why}; set its mode to off and use aggregation.secure.clipping_norm, applied at each gateway.");
        if (a.DiscardHarmful.Enabled) p.Add($"aggregation.discard_harmful: it evaluates each update on validation data, and {why}; turn it off.");
        if (a.CentralDp.Enabled) p.Add($"aggregation.central_dp: central DP clips each update at the federation, and {why}; turn it off (each site's DP-SGD noise still protects its examples).");
        if (a.Compression.Kind != "none") p.Add($"aggregation.compression: '{a.Compression.Kind}' would be applied before the integer encoding, which replaces it (aggregation.secure.bits sets the width of each value); set its kind to none.");
        if (spec.Privacy.LocalUpdateDp.Enabled) p.Add("privacy.local_update_dp: it adds continuous Gaussian noise before the integer encoding, which the secure sum's accounting does not cover; turn it off.");
        // The site-level epsilon of the sums is charged per gateway (one delta per sum); a site with two gateways in a
        // cohort moves a sum by both deltas, which that charge does not cover.
        if (a.Secure.NoiseMultiplier > 0)
            foreach (var shared in spec.ResolveGateways().GroupBy(g => g.SiteId).Where(s => s.Count() > 1))
                p.Add($"aggregation.secure.noise_multiplier: site '{shared.Key}' has {shared.Count()} gateways ({string.Join(", ", shared.Select(g => g.Id))}), and the distributed noise's site-level epsilon is accounted for one delta per site in each sum; give each site one gateway.");
        try { SecureRoundPlan.For(a.Secure, cohort, 1); }
        catch (ArgumentException e) { p.Add(e.Message + "."); }
    }

    private static void CheckBuffered(List<string> p, JobSpec spec, BufferedSpec b, int gateways)
    {
        const string at = "aggregation.buffered";
        if (b.BufferSize < 1 || b.BufferSize > gateways)
            p.Add($"{at}.buffer_size: {b.BufferSize} must be between 1 and the number of gateways ({gateways}); a gateway contributes at most once per version.");
        if (b.Concurrency != 0 && (b.Concurrency < b.BufferSize || b.Concurrency > gateways))
            p.Add($"{at}.concurrency: {b.Concurrency} must be 0 (every gateway) or between buffer_size ({b.BufferSize}) and the number of gateways ({gateways}); fewer than buffer_size could never fill the buffer.");
        if (!(b.StalenessExponent >= 0) || double.IsInfinity(b.StalenessExponent))
            p.Add($"{at}.staleness_exponent: {b.StalenessExponent} must be >= 0 (0.5 as in FedBuff; 0 = no weighting).");
        if (b.MaxStaleness < 0) p.Add($"{at}.max_staleness: {b.MaxStaleness} must be >= 0.");
        if (b.ParticipationsPerGateway < 0) p.Add($"{at}.participations_per_gateway: {b.ParticipationsPerGateway} must be >= 0 (0 = auto).");
        if (b.KeepVersions != 0 && b.KeepVersions <= b.MaxStaleness)
            p.Add($"{at}.keep_versions: {b.KeepVersions} must be 0 (all) or more than max_staleness ({b.MaxStaleness}): a gateway still training from an older kept version must be re-sendable after a restart.");
        if (spec.CohortSize != 0)
            p.Add($"cohort_size: {spec.CohortSize} has no meaning in buffered mode, where gateways are not asked in rounds; leave it 0 and use {at}.concurrency.");
    }

    private static void CheckNormStage(List<string> p, NormStageSpec s, string at)
    {
        if (s.Mode is not ("off" or "fixed" or "adaptive")) p.Add($"{at}.mode: '{s.Mode}' is not known; use off, fixed or adaptive.");
        if (s.Mode == "off") return;
        if (!(s.Bound > 0) || double.IsInfinity(s.Bound)) p.Add($"{at}.bound: {s.Bound} must be > 0.");
        if (!(s.Multiplier > 0) || s.Increment < 0) p.Add($"{at}: multiplier must be > 0 and increment >= 0.");
        if (s.Mode == "adaptive" && (s.TargetQuantile is <= 0 or >= 1 || !(s.LearningRate > 0)))
            p.Add($"{at}: adaptive mode needs target_quantile in (0, 1) and learning_rate > 0.");
    }

    private static void CheckHyperParameters(List<string> p, HyperParameters h, string at)
    {
        if (!(h.LearningRate > 0) || double.IsInfinity(h.LearningRate)) p.Add($"{at}.learning_rate: {h.LearningRate} must be > 0.");
        if (!(h.ClippingNorm > 0) || double.IsInfinity(h.ClippingNorm)) p.Add($"{at}.clipping_norm: {h.ClippingNorm} must be > 0.");
        if (h.NoiseMultiplier is { } s && (!(s >= 0) || s > MaxNoiseMultiplier))
            p.Add($"{at}.noise_multiplier: {s} must be in [0, {MaxNoiseMultiplier}], or left out to calibrate it to the privacy target; at sigma {MaxNoiseMultiplier} each step's noise is already {MaxNoiseMultiplier} clipping norms, and larger values overflow 32-bit floats.");
        if (!(h.LocalEpochs > 0) || h.LocalEpochs > 100) p.Add($"{at}.local_epochs: {h.LocalEpochs} must be in (0, 100].");
        if (h.BatchSize < 1) p.Add($"{at}.batch_size: {h.BatchSize} must be >= 1.");
        if (h.Optimizer is not ("sgd" or "adam")) p.Add($"{at}.optimizer: '{h.Optimizer}' is not known; use \"sgd\" or \"adam\".");
        if (h.Momentum is < 0 or >= 1) p.Add($"{at}.momentum: {h.Momentum} must be in [0, 1).");
        if (!(h.ProximalMu >= 0) || double.IsInfinity(h.ProximalMu)) p.Add($"{at}.proximal_mu: {h.ProximalMu} must be >= 0 (FedProx; 0 = off).");
    }
}
