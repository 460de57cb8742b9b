using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedGrains.Learning.Training;

/// <summary>
/// The sum over a batch of per-example gradients, each clipped to an L2 norm bound, computed without materialising
/// per-example gradients of Linear layers ("ghost clipping").
/// </summary>
/// <remarks>
/// For a Linear layer z = a W^T + b, example i's weight gradient is the outer product g_i a_i^T with g_i = dL_i/dz_i,
/// so ||grad_i W||^2 + ||grad_i b||^2 = ||g_i||^2 (||a_i||^2 + 1) (Goodfellow 2015; Li et al. 2022 "ghost norm").
/// Conv2d layers materialise the per-example gradient from unfolded inputs (G_i U_i^T), which is cheaper than the
/// ghost identity when the number of output positions squared exceeds the kernel size x channels, as it does for the
/// small 28x28 CNN. With norms known, the clipped sum is one more product per layer: grad W = (g * c)^T a with
/// c_i = min(1, C / ||grad_i||), so no second backward pass is needed. Requires a Sequential whose trainable layers are
/// all Linear or Conv2d, each applied once (see <see cref="PrivateModelValidator"/>).
/// </remarks>
internal static class PerExampleClipping
{
    // Scalars passed to libtorch must stay reachable until the native call returns: an implicit `t + 1` creates a
    // temporary the GC may finalize mid-call ("Unknown scalar type" under GC pressure). These live for the process.
    private static readonly Scalar One = 1.0, Zero = 0.0, Tiny = 1e-6;

    /// <summary>Clipped, summed gradients (one per parameter, parameter order), the per-example norms, and the summed loss.</summary>
    public static (List<(Parameter Parameter, Tensor Gradient)> Gradients, Tensor Norms, double LossSum) Compute(
        Sequential model, Tensor x, Tensor y, double clippingNorm)
    {
        var captured = new List<(nn.Module Layer, Tensor Input, Tensor Output)>();
        Tensor h = x;
        foreach (var (_, child) in model.named_children())
        {
            var input = h;
            h = ((nn.Module<Tensor, Tensor>)child).call(h);
            // Frozen layers release nothing, so they neither count towards an example's norm nor get a gradient.
            if (child is Linear { weight.requires_grad: true } or Conv2d { weight.requires_grad: true }) captured.Add((child, input, h));
        }
        var loss = nn.functional.cross_entropy(h, y, reduction: nn.Reduction.Sum);
        var outputGrads = torch.autograd.grad([loss], captured.Select(c => c.Output).ToList());

        long batch = x.shape[0];
        var squaredNorms = torch.zeros(batch, dtype: x.dtype, device: x.device);
        var perLayer = new List<Func<Tensor, List<(Parameter, Tensor)>>>();
        for (int k = 0; k < captured.Count; k++)
        {
            var (layer, a, _) = captured[k];
            var g = outputGrads[k].detach();
            a = a.detach();
            if (layer is Linear linear)
            {
                squaredNorms.add_(g.square().sum(1) * (a.square().sum(1) + (linear.bias is null ? Zero : One)));
                perLayer.Add(c =>
                {
                    var gc = g * c.unsqueeze(1);
                    var grads = new List<(Parameter, Tensor)> { (linear.weight!, gc.t().matmul(a)) };
                    if (linear.bias is not null) grads.Add((linear.bias, gc.sum(0L)));
                    return grads;
                });
            }
            else if (layer is Conv2d conv)
            {
                var (kernel, dilation, padding, stride) = (conv.kernel_size!, conv.dilation!, conv.padding!, conv.stride!);
                var unfolded = nn.functional.unfold(a, (kernel[0], kernel[1]),
                    (dilation[0], dilation[1]), (padding[0], padding[1]), (stride[0], stride[1]));
                var gFlat = g.flatten(2);                                    // [B, Cout, L]
                var perExampleW = gFlat.bmm(unfolded.transpose(1, 2));       // [B, Cout, Cin*k*k]
                squaredNorms.add_(perExampleW.square().sum([1, 2]));
                Tensor? perExampleB = conv.bias is null ? null : gFlat.sum(2L);
                if (perExampleB is not null) squaredNorms.add_(perExampleB.square().sum(1));
                perLayer.Add(c =>
                {
                    var grads = new List<(Parameter, Tensor)>
                    {
                        (conv.weight!, (perExampleW * c.view(-1, 1, 1)).sum(0L).view(conv.weight!.shape)),
                    };
                    if (perExampleB is not null) grads.Add((conv.bias!, (perExampleB * c.unsqueeze(1)).sum(0L)));
                    return grads;
                });
            }
        }
        var norms = squaredNorms.sqrt();
        using var bound = clippingNorm.ToScalar();
        var factors = (norms + Tiny).reciprocal_().mul_(bound).clamp_max(One);
        var gradients = perLayer.SelectMany(f => f(factors)).ToList();
        return (gradients, norms, loss.ToDouble());
    }
}
