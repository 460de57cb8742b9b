using FedGrains.Learning.Features;

namespace FedGrains.Learning.Datasets;

/// <summary>The shared dataset and how it is split among gateways that have no site-local source.</summary>
public sealed record DatasetSpec
{
    /// <summary>"fashion-mnist", "synthetic" (Gaussian clusters) or "synthetic-text" (token sequences, for the text model).</summary>
    public string Kind { get; init; } = "fashion-mnist";

    /// <summary>Folder with the Fashion-MNIST idx files; default $FEDGRAINS_DATA, then /usr/share/datasets/fashion-mnist.</summary>
    public string? DataDir { get; init; }

    /// <summary>
    /// What the federation evaluates on: "test" (the dataset's test set), or "validation": a seeded sample of
    /// <see cref="ValidationExamples"/> training examples, held out from every gateway, for choosing hyperparameters
    /// without ever looking at the test set.
    /// </summary>
    public string Evaluation { get; init; } = "test";

    public int ValidationExamples { get; init; } = 6000;

    /// <summary>
    /// Examples of the shared training set declared public and held at the federation (a seeded sample, after the
    /// validation hold-out), never given to a gateway: what the federation may pretrain on (<see cref="Jobs.JobSpec.PublicPretraining"/>)
    /// at no site's privacy cost. 0: none.
    /// </summary>
    public int PublicExamples { get; init; }

    /// <summary>"iid" or "dirichlet" (label skew).</summary>
    public string Partition { get; init; } = "iid";

    /// <summary>
    /// What the model sees: "pixels" (default), or "scattering": ScatterNet features (J = 2, L = 8: 81 channels at a
    /// quarter of the resolution, normalised per example; Tramer and Boneh 2021). The features are a fixed function of
    /// each image, computed once per silo, and spend no privacy.
    /// </summary>
    public string Features { get; init; } = "pixels";

    /// <summary>Concentration of the Dirichlet label skew; smaller is more skewed.</summary>
    public double DirichletAlpha { get; init; } = 0.5;

    /// <summary>The shape of one example and the number of classes, known from the spec without loading data.</summary>
    public (int[] ExampleShape, int Classes) Geometry() =>
        Kind switch
        {
            "synthetic" => ([SyntheticFeatures], SyntheticClasses),
            "synthetic-text" => ([SyntheticSequenceLength], SyntheticClasses),
            _ => (Features == "scattering" ? ScatterNetFeatures.Shape([1, 28, 28]) : [1, 28, 28], 10),
        };

    public int SyntheticTrainExamples { get; init; } = 4000;
    public int SyntheticTestExamples { get; init; } = 1000;
    public int SyntheticFeatures { get; init; } = 20;
    public int SyntheticClasses { get; init; } = 4;
    public int SyntheticSequenceLength { get; init; } = 16;
    public int SyntheticVocabulary { get; init; } = 200;
}

/// <summary>Site-local data: a CSV (features then label), an idx images/labels pair, or a folder of labelled images.</summary>
public sealed record SiteSource
{
    /// <summary>A dataset the site's silo declares by this name (FedGrains:Site:Datasets); the site maps it to its files, so no path is in the job.</summary>
    public string? Dataset { get; init; }

    public string? Csv { get; init; }
    public string? Images { get; init; }
    public string? Labels { get; init; }

    /// <summary>A folder with one sub-folder of images per class, named by the class index (<see cref="Data.ImageFolder"/>).</summary>
    public string? Folder { get; init; }
}
