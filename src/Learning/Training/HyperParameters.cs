namespace FedGrains.Learning.Training;

/// <summary>The server's default local-training hyperparameters.</summary>
public sealed record HyperParameters
{
    public double LearningRate { get; init; } = 0.5;

    /// <summary>Per-example L2 clipping norm C.</summary>
    public double ClippingNorm { get; init; } = 1.0;

    /// <summary>sigma; when absent the gateway calibrates it with the accountant to reach the privacy target.</summary>
    public double? NoiseMultiplier { get; init; }

    /// <summary>Local epochs per round; one epoch is 1/q Poisson-sampled steps.</summary>
    public double LocalEpochs { get; init; } = 1;

    /// <summary>Expected batch size; the sample rate is batch_size / examples at the gateway.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>"sgd" or "adam".</summary>
    public string Optimizer { get; init; } = "sgd";

    public double Momentum { get; init; }

    /// <summary>FedProx's proximal weight mu; 0 is plain local SGD.</summary>
    public double ProximalMu { get; init; }

    /// <summary>These defaults with a gateway's overrides applied.</summary>
    public HyperParameters With(HyperParameterOverrides? o) => o is null ? this : new HyperParameters
    {
        LearningRate = o.LearningRate ?? LearningRate,
        ClippingNorm = o.ClippingNorm ?? ClippingNorm,
        NoiseMultiplier = o.NoiseMultiplier ?? NoiseMultiplier,
        LocalEpochs = o.LocalEpochs ?? LocalEpochs,
        BatchSize = o.BatchSize ?? BatchSize,
        Optimizer = o.Optimizer ?? Optimizer,
        Momentum = o.Momentum ?? Momentum,
        ProximalMu = o.ProximalMu ?? ProximalMu,
    };
}

/// <summary>A gateway's overrides of the server defaults; absent fields keep the default.</summary>
public sealed record HyperParameterOverrides
{
    public double? LearningRate { get; init; }
    public double? ClippingNorm { get; init; }
    public double? NoiseMultiplier { get; init; }
    public double? LocalEpochs { get; init; }
    public int? BatchSize { get; init; }
    public string? Optimizer { get; init; }
    public double? Momentum { get; init; }
    public double? ProximalMu { get; init; }
}
