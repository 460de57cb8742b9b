using FedGrains.Learning.Models;
using FedGrains.Learning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Tests.Training;

public sealed class ClassificationMetricsTests
{
    [Fact]
    public void Per_class_accuracy_f1_and_macro_f1_match_hand_computed_values()
    {
        // True class 0: 5 right, 1 taken for class 1; true class 1: 2 taken for 0, 3 right, 1 taken for 2; class 2 never occurs.
        var metrics = new ClassificationMetrics(3, [5, 1, 0, 2, 3, 1, 0, 0, 0]);

        Assert.Equal([5.0 / 6, 3.0 / 6, null], metrics.PerClassAccuracy());
        var f1 = metrics.F1();
        Assert.Equal(10.0 / 13, f1[0]!.Value, 12); // 2 TP / (actual 6 + predicted 7)
        Assert.Equal(6.0 / 10, f1[1]!.Value, 12);
        Assert.Equal(0, f1[2]!.Value); // predicted once, never right
        Assert.Equal((10.0 / 13 + 0.6 + 0) / 3, metrics.MacroF1(), 12);
        Assert.Equal([[5L, 1, 0], [2L, 3, 1], [0L, 0, 0]], metrics.Rows());
    }

    [Fact]
    public void The_evaluators_confusion_matrix_counts_what_a_naive_loop_over_predictions_counts()
    {
        using var scope = torch.NewDisposeScope();
        using var model = ModelFactory.Create(new ModelSpec("mlp", [8]), [6], 5, seed: 3);
        var generator = new Generator(5);
        var x = torch.randn([2500, 6], generator: generator);
        var y = torch.randint(0, 5, [2500], generator: generator);

        var (_, accuracy, metrics) = Evaluator.Assess(model, x, y, batchSize: 700);

        model.eval();
        var predicted = model.call(x).argmax(1).data<long>().ToArray();
        var labels = y.data<long>().ToArray();
        var naive = new long[25];
        for (int i = 0; i < labels.Length; i++) naive[labels[i] * 5 + predicted[i]]++;
        Assert.Equal(naive, metrics.Confusion);
        Assert.Equal(Enumerable.Range(0, 5).Sum(c => metrics.Count(c, c)) / 2500.0, accuracy, 12);
    }
}
