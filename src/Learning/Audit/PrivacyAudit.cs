using FedGrains.Learning.Data;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;
using MathNet.Numerics.Distributions;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Audit;

/// <summary>What the audit measured: the empirical lower bound on epsilon and the guessing game behind it.</summary>
/// <param name="Guesses">Canaries the auditor guessed about (the most and least confident half each way).</param>
/// <param name="Correct">How many of those guesses were right.</param>
public sealed record AuditResult(double EpsilonLowerBound, int Canaries, int Included, int Guesses, int Correct, double Confidence);

/// <summary>
/// An empirical privacy audit with one training run (Steinke, Nasr, Jagielski 2023): m canaries are each included in
/// the training data with probability 1/2, the real DP-SGD trainer runs once, and an auditor who sees only the final
/// model guesses which canaries were in. Under (epsilon, delta)-DP no guess can be right with probability above
/// (e^eps + delta) / (1 + e^eps), so r guesses with v right reject every epsilon for which v or more right answers
/// would have probability below 1 - confidence: the largest such epsilon is a lower bound that holds with that
/// confidence. A DP run's lower bound must stay below its claimed epsilon; a run without noise shows large leakage.
/// </summary>
/// <remarks>
/// The canaries are made as detectable as the threat model allows ("input-space Dirac canaries"): canary i has a
/// feature of its own (large, so its gradient is always clipped to the full bound C) and a random label, on a linear
/// model, so the trained weights of that feature carry exactly its clipped gradient plus noise. The auditor's score is
/// how much the weight towards the canary's label grew. The number of guesses is picked from a fixed menu after
/// seeing the scores, so the confidence is split over the menu (a union bound).
/// </remarks>
public static class PrivacyAudit
{
    private static readonly int[] GuessMenu = [20, 50, 100, 200, 500, 1000, 2000];

    /// <param name="examples">Ordinary (synthetic) training examples next to the canaries.</param>
    /// <param name="settings">The DP-SGD settings to audit (sample rate, noise multiplier, clipping norm, steps).</param>
    public static AuditResult Run(TrainerSettings settings, double delta, int canaries = 1000, int examples = 6000, long seed = 1,
        double confidence = 0.95)
    {
        if (canaries < 20) throw new ArgumentOutOfRangeException(nameof(canaries), "the audit needs at least 20 canaries.");
        if (confidence is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(confidence), "confidence must be in (0, 1), e.g. 0.95.");
        using var scope = torch.NewDisposeScope();
        var rng = new Random((int)(seed % int.MaxValue));
        var (task, _) = SyntheticTask.Generate(seed, examples, 1);
        int features = task.FeatureCount, classes = task.Classes, width = features + canaries;

        var included = Enumerable.Range(0, canaries).Select(_ => rng.Next(2) == 1).ToArray();
        var canaryLabels = Enumerable.Range(0, canaries).Select(_ => rng.Next(classes)).ToArray();
        int members = included.Count(i => i);
        var x = new float[(examples + members) * width];
        var y = new long[examples + members];
        for (int i = 0; i < examples; i++)
        {
            Array.Copy(task.Features, i * features, x, i * width, features);
            y[i] = task.Labels[i];
        }
        const float canaryScale = 100; // its gradient is always clipped: each canary's influence is the full bound C
        for (int c = 0, row = examples; c < canaries; c++)
        {
            if (!included[c]) continue;
            x[row * width + features + c] = canaryScale;
            y[row++] = canaryLabels[c];
        }

        var model = nn.Sequential(("out", nn.Linear(width, classes)));
        using (torch.no_grad())
            foreach (var p in model.parameters()) p.zero_();
        var trainX = torch.tensor(x, [examples + members, width]);
        var trainY = torch.tensor(y);
        using (var trainer = new DpSgdTrainer(model, settings, new Random(rng.Next()), new GaussianNoise((ulong)rng.NextInt64())))
            trainer.Run(trainX, trainY);

        // Score: how far training moved the canary's own feature towards its label (other rows of that column move
        // the other way, so centre on the column's mean).
        var weight = model.parameters().First().detach().to(ScalarType.Float64).data<double>().ToArray(); // [classes, width]
        var scores = new double[canaries];
        for (int c = 0; c < canaries; c++)
        {
            int col = features + c;
            double mean = Enumerable.Range(0, classes).Average(k => weight[k * width + col]);
            scores[c] = weight[canaryLabels[c] * width + col] - mean;
        }
        return Judge(scores, included, delta, confidence);
    }

    /// <summary>Plays the guessing game on given scores (higher = more likely included) and returns the lower bound.</summary>
    public static AuditResult Judge(IReadOnlyList<double> scores, IReadOnlyList<bool> included, double delta, double confidence)
    {
        int m = scores.Count;
        var order = Enumerable.Range(0, m).OrderBy(i => scores[i]).ToArray();
        var menu = GuessMenu.Where(r => r <= m).ToArray();
        double beta = (1 - confidence) / menu.Length;
        var best = new AuditResult(0, m, included.Count(i => i), 0, 0, confidence);
        foreach (int r in menu)
        {
            int half = r / 2;
            int correct = order.Take(half).Count(i => !included[i]) + order.Skip(m - (r - half)).Count(i => included[i]);
            double bound = LowerBound(r, correct, delta, beta);
            if (bound > best.EpsilonLowerBound || best.Guesses == 0) best = best with { EpsilonLowerBound = bound, Guesses = r, Correct = correct };
        }
        return best;
    }

    /// <summary>
    /// The largest epsilon under which <paramref name="correct"/> or more right answers out of <paramref name="guesses"/>
    /// has probability at most <paramref name="beta"/>, each guess right with probability at most (e^eps + delta) / (1 + e^eps).
    /// </summary>
    public static double LowerBound(int guesses, int correct, double delta, double beta)
    {
        double Tail(double eps)
        {
            double p = Math.Min(1, (Math.Exp(eps) + delta) / (1 + Math.Exp(eps)));
            return correct == 0 ? 1 : 1 - Binomial.CDF(p, guesses, correct - 1);
        }
        if (Tail(0) > beta) return 0; // no better than a coin: nothing can be rejected
        double lo = 0, hi = 1;
        while (Tail(hi) <= beta && hi < 100) { lo = hi; hi *= 2; }
        for (int i = 0; i < 60; i++)
        {
            double mid = (lo + hi) / 2;
            if (Tail(mid) <= beta) lo = mid; else hi = mid;
        }
        return lo;
    }
}
