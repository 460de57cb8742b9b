namespace FedGrains.Learning.Aggregation;

/// <summary>How the federation applies a round's aggregated delta to the global model.</summary>
public enum ServerOptimizerKind
{
    /// <summary>w += lr * delta (lr 1 is plain FedAvg).</summary>
    FedAvg,

    /// <summary>Server momentum: m = beta1 m + delta; w += lr m (Hsu et al. 2019).</summary>
    FedAvgM,

    /// <summary>v += delta^2; w += lr delta / (sqrt(v) + tau).</summary>
    FedAdagrad,

    /// <summary>m = beta1 m + (1 - beta1) delta; v = beta2 v + (1 - beta2) delta^2; w += lr m / (sqrt(v) + tau).</summary>
    FedAdam,

    /// <summary>As FedAdam with v = v - (1 - beta2) delta^2 sign(v - delta^2).</summary>
    FedYogi,
}

/// <summary>Settings of the server optimizer (Reddi et al. 2021, "Adaptive Federated Optimization", Alg. 2).</summary>
public sealed record ServerOptimizerSettings(
    ServerOptimizerKind Kind = ServerOptimizerKind.FedAvg,
    double LearningRate = 1.0,
    double Beta1 = 0.9,
    double Beta2 = 0.99,
    double Tau = 1e-3);

/// <summary>
/// Applies aggregated deltas with the server optimizer. Its moments are part of the job's checkpoint: a resumed job
/// continues with the same moments, so it produces the same model as one that never stopped.
/// </summary>
public sealed class ServerOptimizer(ServerOptimizerSettings settings, float[]? firstMoment = null, float[]? secondMoment = null)
{
    public ServerOptimizerSettings Settings { get; } = settings;

    /// <summary>m (momentum), or null before the first step / for FedAvg.</summary>
    public float[]? FirstMoment { get; private set; } = firstMoment;

    /// <summary>v (adaptive methods), or null before the first step.</summary>
    public float[]? SecondMoment { get; private set; } = secondMoment;

    /// <summary>The new global weights.</summary>
    public float[] Step(IReadOnlyList<float> weights, IReadOnlyList<float> delta)
    {
        if (weights.Count != delta.Count) throw new ArgumentException($"model has {weights.Count} values but the delta has {delta.Count}.");
        var s = Settings;
        int n = weights.Count;
        var next = new float[n];
        switch (s.Kind)
        {
            case ServerOptimizerKind.FedAvg:
                for (int i = 0; i < n; i++) next[i] = (float)(weights[i] + s.LearningRate * delta[i]);
                return next;
            case ServerOptimizerKind.FedAvgM:
                var m = FirstMoment ??= new float[n];
                for (int i = 0; i < n; i++)
                {
                    m[i] = (float)(s.Beta1 * m[i] + delta[i]);
                    next[i] = (float)(weights[i] + s.LearningRate * m[i]);
                }
                return next;
            default:
                var m1 = FirstMoment ??= new float[n];
                var v = SecondMoment ??= Enumerable.Repeat((float)(s.Tau * s.Tau), n).ToArray();
                for (int i = 0; i < n; i++)
                {
                    double d = delta[i], d2 = d * d;
                    m1[i] = s.Kind == ServerOptimizerKind.FedAdagrad ? (float)d : (float)(s.Beta1 * m1[i] + (1 - s.Beta1) * d);
                    v[i] = s.Kind switch
                    {
                        ServerOptimizerKind.FedAdagrad => (float)(v[i] + d2),
                        ServerOptimizerKind.FedAdam => (float)(s.Beta2 * v[i] + (1 - s.Beta2) * d2),
                        _ => (float)(v[i] - (1 - s.Beta2) * d2 * Math.Sign(v[i] - d2)),
                    };
                    next[i] = (float)(weights[i] + s.LearningRate * m1[i] / (Math.Sqrt(v[i]) + s.Tau));
                }
                return next;
        }
    }
}
