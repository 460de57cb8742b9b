using FedGrains.Learning.Data;
using FedGrains.Learning.Features;

namespace FedGrains.Learning.Datasets;

/// <summary>A job's shared data: the training set split among the gateways without a site-local source, and the test set.</summary>
public sealed class FederatedDataset
{
    private readonly Dictionary<string, int[]> shards;

    private readonly bool fashionMnist, scattering;
    private readonly Lazy<LabeledData> test;

    private readonly Lazy<LabeledData?> publicData;

    private FederatedDataset(LabeledData train, LabeledData test, LabeledData? publicData, Dictionary<string, int[]> shards, bool fashionMnist, bool scattering)
    {
        this.publicData = new Lazy<LabeledData?>(() => publicData is null ? null : scattering ? ScatterNetFeatures.Apply(publicData, FeatureCache.Shared) : publicData);
        this.fashionMnist = fashionMnist;
        this.scattering = scattering;
        Train = train;
        this.test = new Lazy<LabeledData>(() => scattering ? ScatterNetFeatures.Apply(test, FeatureCache.Shared) : test);
        this.shards = shards;
        ExampleShape = scattering ? ScatterNetFeatures.Shape(train.ExampleShape) : train.ExampleShape;
    }

    /// <summary>The shared training examples as loaded (pixels); a gateway's examples in the job's features come from <see cref="ForGateway"/>.</summary>
    public LabeledData Train { get; }

    /// <summary>The evaluation set in the job's features (computed on first use).</summary>
    public LabeledData Test => test.Value;

    /// <summary>The examples declared public (dataset.public_examples) in the job's features, held apart from every gateway; null when none.</summary>
    public LabeledData? Public => publicData.Value;

    /// <summary>The shape of one example as the model sees it (after any feature transform).</summary>
    public int[] ExampleShape { get; }

    public int Classes => Train.Classes;

    /// <summary>
    /// Loads <paramref name="dataset"/> and partitions its training set deterministically from the job seed among
    /// <paramref name="sharedGatewayIds"/>, the gateways without a site-local source.
    /// </summary>
    public static FederatedDataset Load(DatasetSpec dataset, long jobSeed, IReadOnlyList<string> sharedGatewayIds)
    {
        var (train, test) = LoadShared(dataset, jobSeed);
        if (dataset.Evaluation == "validation")
        {
            // Tuning runs: evaluate on training examples no gateway gets; the test set stays unseen.
            var order = Enumerable.Range(0, train.Count).ToArray();
            new Random(Seeds.Derive32(jobSeed, "validation")).Shuffle(order);
            int held = dataset.ValidationExamples;
            (train, test) = (train.Subset(order[held..]), train.Subset(order[..held]));
        }
        LabeledData? publicData = null;
        if (dataset.PublicExamples > 0)
        {
            // Declared public: a seeded sample no gateway gets, so training on it spends no site's privacy.
            var order = Enumerable.Range(0, train.Count).ToArray();
            new Random(Seeds.Derive32(jobSeed, "public")).Shuffle(order);
            int held = dataset.PublicExamples;
            (train, publicData) = (train.Subset(order[held..]), train.Subset(order[..held]));
        }
        int partitionSeed = Seeds.Derive32(jobSeed, "partition");
        var parts = sharedGatewayIds.Count == 0 ? [] : dataset.Partition == "dirichlet"
            ? Partitioner.Dirichlet(train.Labels, train.Classes, sharedGatewayIds.Count, dataset.DirichletAlpha, partitionSeed)
            : Partitioner.Iid(train.Count, sharedGatewayIds.Count, partitionSeed);
        return new FederatedDataset(train, test, publicData, sharedGatewayIds.Select((id, k) => (id, parts[k])).ToDictionary(x => x.id, x => x.Item2),
            dataset.Kind == "fashion-mnist", dataset.Features == "scattering");
    }

    /// <summary>The shared training set and test set named by <paramref name="dataset"/>.</summary>
    public static (LabeledData Train, LabeledData Test) LoadShared(DatasetSpec dataset, long jobSeed) => dataset.Kind switch
    {
        "fashion-mnist" => FashionMnist.Load(dataset.DataDir),
        "synthetic" => SyntheticTask.Generate(Seeds.Derive(jobSeed, "synthetic"), dataset.SyntheticTrainExamples,
            dataset.SyntheticTestExamples, dataset.SyntheticFeatures, dataset.SyntheticClasses),
        "synthetic-text" => SyntheticText.Generate(Seeds.Derive(jobSeed, "synthetic-text"), dataset.SyntheticTrainExamples,
            dataset.SyntheticTestExamples, dataset.SyntheticSequenceLength, dataset.SyntheticVocabulary, dataset.SyntheticClasses),
        _ => throw new ArgumentException($"dataset.kind '{dataset.Kind}' is not known."),
    };

    /// <summary>
    /// The training data of gateway <paramref name="gatewayId"/> in the job's features: its own
    /// <paramref name="source"/> if it has one, else its partition. Each gateway computes features for its own
    /// examples only, as a site would.
    /// </summary>
    public LabeledData ForGateway(string gatewayId, SiteSource? source)
    {
        var pixels = GatewayPixels(gatewayId, source);
        return scattering ? ScatterNetFeatures.Apply(pixels, FeatureCache.Shared) : pixels;
    }

    /// <summary>
    /// How a message names a site's file: its path as the spec gave it, or, for a dataset the site declares, the
    /// dataset's name and configuration key, so the path stays on the site.
    /// </summary>
    private static string Shown(SiteSource source, string key) => source.Dataset is { } name
        ? $"site dataset '{name}' (FedGrains:Site:Datasets:{name}:{key})"
        : key switch { "Csv" => source.Csv!, "Images" => source.Images!, "Folder" => source.Folder!, _ => source.Labels! };

    private LabeledData GatewayPixels(string gatewayId, SiteSource? siteSource)
    {
        if (siteSource is { } source)
        {
            bool csv = source.Csv is { Length: > 0 };
            var own = csv ? CsvSource.Read(source.Csv!, Train.Classes, Shown(source, "Csv"))
                : source.Folder is { Length: > 0 } folder ? ReadFolder(source, folder)
                : IdxReader.ReadPair(source.Images!, source.Labels!, Train.Classes, Shown(source, "Images"), Shown(source, "Labels"));
            // A site's images (idx or a folder) get the same fixed preprocessing as the shared Fashion-MNIST images.
            if (fashionMnist && !csv) FashionMnist.Standardise(own);
            if (own.FeatureCount != Train.FeatureCount)
                throw new DataFileException(csv
                    ? $"{Shown(source, "Csv")}: its rows have {own.FeatureCount} features (the columns before the label), but the job's dataset has {Train.FeatureCount} per example and every site must match it (one model is evaluated on the shared test set); give the file {Train.FeatureCount} feature columns, or use a dataset with {own.FeatureCount} features."
                    : $"{Shown(source, "Images")}: its images have {own.ExampleShape[1]}x{own.ExampleShape[2]} = {own.FeatureCount} pixels, but the job's dataset has {Train.FeatureCount} features per example and every site must match it (one model is evaluated on the shared test set); give images of the shared dataset's size.");
            return new LabeledData(own.Features, own.Labels, Train.ExampleShape, Train.Classes);
        }
        if (!shards.TryGetValue(gatewayId, out var indices))
            throw new ArgumentException($"gateway '{gatewayId}' is not part of this job.");
        return Train.Subset(indices);
    }

    // Images need an image dataset: its example shape [1, rows, cols] fixes the size every image must have.
    private LabeledData ReadFolder(SiteSource source, string folder) =>
        fashionMnist && Train.ExampleShape is [1, var rows, var cols]
            ? ImageFolder.Read(folder, Train.Classes, rows, cols, Shown(source, "Folder"))
            : throw new DataFileException($"{Shown(source, "Folder")}: a folder of images needs a job whose dataset is images (dataset.kind \"fashion-mnist\"); this job's dataset has examples of {Train.FeatureCount} features, so give the site's data as a CSV instead.");
}
