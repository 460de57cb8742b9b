using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Training;

/// <summary>Loss and accuracy of a model on held-out data.</summary>
public static class Evaluator
{
    public static (double Loss, double Accuracy) Evaluate(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y, int batchSize = 2000)
    {
        var (loss, accuracy, _) = Assess(model, x, y, batchSize);
        return (loss, accuracy);
    }

    /// <summary>Loss, accuracy and the confusion matrix (true class by predicted class) in one pass.</summary>
    public static (double Loss, double Accuracy, ClassificationMetrics Metrics) Assess(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y, int batchSize = 2000)
    {
        if (x.shape[0] == 0) throw new ArgumentException("cannot evaluate on an empty set.");
        double loss = 0;
        long correct = 0;
        long[]? confusion = null;
        int classes = 0;
        ForEachBatch(model, x, y, (logits, labels) =>
        {
            classes = (int)logits.shape[1];
            confusion ??= new long[classes * classes];
            loss += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).ToDouble();
            var predicted = logits.argmax(1);
            correct += predicted.eq(labels).sum().item<long>();
            using Scalar width = classes, one = 1;
            var counts = labels.mul(width).add(predicted, one).bincount(null, classes * classes).cpu().data<long>().ToArray();
            for (int i = 0; i < counts.Length; i++) confusion[i] += counts[i];
        }, batchSize);
        return (loss / x.shape[0], (double)correct / x.shape[0], new ClassificationMetrics(classes, confusion!));
    }

    /// <summary>The sum over (x, y) of each example's loss clipped to [0, <paramref name="bound"/>] (the input of <see cref="Privacy.PrivateLoss"/>).</summary>
    public static double ClippedLossSum(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y, double bound)
    {
        double clippedSum = 0;
        using var lowest = 0.0.ToScalar();
        using var highest = bound.ToScalar();
        ForEachBatch(model, x, y, (logits, labels) =>
            clippedSum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None).clamp(lowest, highest).sum().ToDouble());
        return clippedSum;
    }

    /// <summary>Runs the model in eval mode, without gradients, over (x, y) in batches; each batch's tensors are freed after <paramref name="visit"/>.</summary>
    public static void ForEachBatch(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y, Action<Tensor, Tensor> visit, int batchSize = 2000)
    {
        model.eval();
        using var _ = torch.no_grad();
        for (long start = 0; start < x.shape[0]; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            long len = Math.Min(batchSize, x.shape[0] - start);
            visit(model.call(x.narrow(0, start, len)), y.narrow(0, start, len));
        }
    }
}
