namespace FedGrains.Learning.Training;

/// <summary>
/// Per-class figures of a confusion matrix (rows: the true class, columns: the predicted one). Accuracy alone hides a
/// class the model never gets right; macro-F1 weighs every class equally, which is what an entity-style task with a
/// dominant "no entity" class needs.
/// </summary>
public sealed record ClassificationMetrics(int Classes, long[] Confusion)
{
    /// <summary>The largest number of classes whose matrix is kept per round (a 64 x 64 matrix is 32 KB).</summary>
    public const int MaxKeptClasses = 64;

    public long Count(int actual, int predicted) => Confusion[actual * Classes + predicted];

    private long Actual(int c) => Enumerable.Range(0, Classes).Sum(p => Count(c, p));

    private long Predicted(int c) => Enumerable.Range(0, Classes).Sum(a => Count(a, c));

    /// <summary>Per class, the share of its examples predicted as it (recall); null for a class with no example.</summary>
    public double?[] PerClassAccuracy() =>
        Enumerable.Range(0, Classes).Select(c => Actual(c) is var n and > 0 ? (double?)Count(c, c) / n : null).ToArray();

    /// <summary>Per class, F1 = 2 TP / (2 TP + FP + FN); null for a class neither present nor predicted.</summary>
    public double?[] F1() => Enumerable.Range(0, Classes).Select(c =>
    {
        long tp = Count(c, c), denominator = Actual(c) + Predicted(c);
        return denominator > 0 ? (double?)2.0 * tp / denominator : null;
    }).ToArray();

    /// <summary>The mean F1 over the classes that are present or predicted (scikit-learn's f1_score(average="macro") over those labels).</summary>
    public double MacroF1() => F1().Where(f => f is not null).Select(f => f!.Value).DefaultIfEmpty(0).Average();

    /// <summary>The matrix as rows, for a report.</summary>
    public long[][] Rows() => Enumerable.Range(0, Classes).Select(a => Confusion.AsSpan(a * Classes, Classes).ToArray()).ToArray();
}
