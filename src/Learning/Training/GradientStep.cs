using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Training;

/// <summary>
/// The local optimizer's update: SGD with optional momentum, or Adam, with PyTorch's semantics (torch.optim.SGD with
/// dampening 0; torch.optim.Adam with betas (0.9, 0.999), eps 1e-8).
/// </summary>
/// <remarks>
/// TorchSharp's own optimizers pass the learning rate to libtorch as a temporary Scalar that the GC may finalize while
/// the native call still reads it; under allocation pressure from other threads (noise, grains) a step then fails
/// inside libtorch. Every Scalar here lives until the calls that read it return.
/// </remarks>
internal sealed class GradientStep : IDisposable
{
    private const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;
    private readonly IReadOnlyList<Parameter> parameters;
    private readonly bool adam;
    private readonly Scalar negativeRate, momentum, one = 1.0, beta1 = Beta1, beta2 = Beta2, oneMinusBeta1 = 1 - Beta1, oneMinusBeta2 = 1 - Beta2, epsilon = Epsilon;
    private readonly double learningRate;
    private readonly bool useMomentum;
    private Tensor[]? first, second;
    private long steps;

    public GradientStep(IReadOnlyList<Parameter> parameters, LocalOptimizer optimizer, double learningRate, double momentum)
    {
        this.parameters = parameters;
        adam = optimizer == LocalOptimizer.Adam;
        this.learningRate = learningRate;
        negativeRate = (-learningRate).ToScalar();
        this.momentum = momentum.ToScalar();
        useMomentum = !adam && momentum > 0;
    }

    /// <summary>Applies one update from <paramref name="gradients"/> (one per parameter, in order).</summary>
    public void Apply(IReadOnlyList<Tensor> gradients)
    {
        using var _ = torch.no_grad();
        steps++;
        if (adam) ApplyAdam(gradients);
        else ApplySgd(gradients);
    }

    private void ApplySgd(IReadOnlyList<Tensor> gradients)
    {
        for (int k = 0; k < parameters.Count; k++)
        {
            var update = gradients[k];
            if (useMomentum)
            {
                first ??= new Tensor[parameters.Count];
                // PyTorch: the buffer starts as the first gradient, then buffer = momentum * buffer + gradient.
                if (first[k] is null) first[k] = update.detach().clone().DetachFromDisposeScope();
                else first[k].mul_(momentum).add_(update, alpha: one);
                update = first[k];
            }
            parameters[k].add_(update, alpha: negativeRate);
        }
    }

    private void ApplyAdam(IReadOnlyList<Tensor> gradients)
    {
        first ??= parameters.Select(p => torch.zeros_like(p).DetachFromDisposeScope()).ToArray();
        second ??= parameters.Select(p => torch.zeros_like(p).DetachFromDisposeScope()).ToArray();
        double correction1 = 1 - Math.Pow(Beta1, steps), correction2 = 1 - Math.Pow(Beta2, steps);
        using var stepSize = (-learningRate / correction1).ToScalar();
        using var rootCorrection2 = Math.Sqrt(correction2).ToScalar();
        for (int k = 0; k < parameters.Count; k++)
        {
            var g = gradients[k];
            first![k].mul_(beta1).add_(g, alpha: oneMinusBeta1);
            second![k].mul_(beta2).addcmul_(g, g, value: oneMinusBeta2);
            using var denominator = second[k].sqrt().div_(rootCorrection2).add_(epsilon, one);
            parameters[k].addcdiv_(first[k], denominator, value: stepSize);
        }
    }

    public void Dispose()
    {
        foreach (var t in (first ?? []).Concat(second ?? [])) t?.Dispose();
        foreach (var s in new[] { negativeRate, momentum, one, beta1, beta2, oneMinusBeta1, oneMinusBeta2, epsilon }) s.Dispose();
    }
}
