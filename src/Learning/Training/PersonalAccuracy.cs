using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Training;

/// <summary>
/// A site's own model (the global weights with its own local layers) measured on the examples it held out. The
/// count of correct predictions changes by at most one when one example is added or removed, so the Gaussian
/// mechanism with noise z x 1 releases it (Dwork and Roth 2014, Thm 3.22; charged as one Gaussian release with noise
/// multiplier z, composed in the site's RDP/PRV ledger with its DP-SGD steps).
/// </summary>
public static class PersonalAccuracy
{
    /// <summary>The count of correct predictions of <paramref name="weights"/> on (<paramref name="x"/>, <paramref name="y"/>).</summary>
    public static long Correct(ModelSpec spec, float[] weights, Tensor x, Tensor y, int classes)
    {
        using var scope = NewDisposeScope();
        using var model = ModelFactory.Create(spec, [.. x.shape.Skip(1).Select(d => (int)d)], classes, seed: 0);
        model.to(x.device);
        ModelWeights.Write(model, weights);
        model.eval();
        using var _ = no_grad();
        long correct = 0;
        for (long start = 0; start < x.shape[0]; start += 1024)
        {
            long n = Math.Min(1024, x.shape[0] - start);
            using var predicted = model.forward(x.narrow(0, start, n)).argmax(1);
            correct += predicted.eq(y.narrow(0, start, n)).sum().item<long>();
        }
        return correct;
    }

    /// <summary>The noised accuracy: (correct + z N(0, 1)) / n, clamped to [0, 1] (post-processing costs nothing).</summary>
    public static double Release(long correct, int examples, double noiseMultiplier, INoiseSource noise) =>
        Math.Clamp((correct + noiseMultiplier * noise.Next()) / examples, 0, 1);
}
