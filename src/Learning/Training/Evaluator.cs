using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Training;

/// <summary>Loss and accuracy of a model on held-out data.</summary>
public static class Evaluator
{
    public static (double Loss, double Accuracy) Evaluate(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y, int batchSize = 2000)
    {
        long n = x.shape[0];
        if (n == 0) throw new ArgumentException("cannot evaluate on an empty set.");
        double loss = 0;
        long correct = 0;
        model.eval();
        using var _ = torch.no_grad();
        for (long start = 0; start < n; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            long len = Math.Min(batchSize, n - start);
            var bx = x.narrow(0, start, len);
            var by = y.narrow(0, start, len);
            var logits = model.call(bx);
            loss += nn.functional.cross_entropy(logits, by, reduction: nn.Reduction.Sum).ToDouble();
            correct += logits.argmax(1).eq(by).sum().item<long>();
        }
        return (loss / n, (double)correct / n);
    }
}
