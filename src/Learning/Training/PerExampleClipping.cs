using TorchSharp.Modules;
using TorchSharp;
using static FedGrains.Learning.HeldScalars;
using static TorchSharp.torch;

namespace FedGrains.Learning.Training;

/// <summary>How per-example gradient norms of Linear and Conv2d layers are computed.</summary>
public enum PerExampleNorms
{
    /// <summary>Per layer, the cheaper way: Linear layers use the ghost identity, Conv2d layers materialise their per-example gradients unless those would take more than 32 MB.</summary>
    Cheaper,

    /// <summary>Always the ghost identity.</summary>
    Ghost,

    /// <summary>Always form each example's gradient, as per-sample hooks do (Opacus); for comparison in benchmarks and tests.</summary>
    Materialised,
}

/// <summary>
/// The sum over a batch of per-example gradients, each clipped to an L2 norm bound, computed in one backward pass
/// and without materialising per-example gradients where an identity gives their norms ("ghost clipping").
/// </summary>
/// <remarks>
/// With g_i = dL_i/dz_i the gradient at a layer's output and a_i its input:
/// <list type="bullet">
/// <item>Linear: grad_i W = g_i a_i^T, so ||grad_i W||^2 + ||grad_i b||^2 = ||g_i||^2 (||a_i||^2 + 1) (Goodfellow 2015).
/// Sequence inputs [B, T, D] use the Gram form below.</item>
/// <item>Conv2d: grad_i W = G_i U_i^T with U_i the unfolded input [D, L] and G_i [Cout, L]. Ghost:
/// ||G_i U_i^T||^2 = sum (U_i^T U_i) * (G_i^T G_i), costing L^2 (D + Cout) per example on top of the Cout D L that
/// the clipped sum costs anyway; materialising G_i U_i^T costs only that product but holds Cout D values per example.
/// Per layer, the gradients are materialised unless they would take much memory (in the spirit of Bu et al. 2022,
/// mixed ghost clipping, which also decides per layer by space).</item>
/// <item>Embedding: grad_i W = sum_t onehot(x_it) g_it^T, so ||grad_i W||^2 = sum_{s,t} [x_is = x_it] g_is . g_it.</item>
/// <item>LayerNorm / GroupNorm: the affine parameters get sum over positions of g * x_hat (and of g); these per-example
/// gradients are as small as the parameters, so they are formed directly.</item>
/// </list>
/// With the norms known, the clipped sum is one more product per layer with the factors c_i = min(1, C / ||grad_i||),
/// so no second backward pass is needed. Requires a Sequential whose trainable layers are of these kinds, each applied
/// once (see <see cref="PrivateModelValidator"/>).
/// </remarks>
internal static class PerExampleClipping
{
    /// <summary>One layer's contribution: its examples' squared gradient norms, and its clipped summed gradients given the factors.</summary>
    private sealed record LayerTerm(Tensor SquaredNorms, Func<Tensor, IEnumerable<(Parameter, Tensor)>> ClippedSum);

    /// <summary>Clipped, summed gradients (one per parameter, parameter order), the per-example norms, and the summed loss.</summary>
    public static (List<(Parameter Parameter, Tensor Gradient)> Gradients, Tensor Norms, double LossSum) Compute(
        Sequential model, Tensor x, Tensor y, double clippingNorm, PerExampleNorms mode = PerExampleNorms.Cheaper)
    {
        var captured = new List<(nn.Module Layer, Tensor Input, Tensor Output)>();
        Tensor h = Forward(model.named_children().Select(c => c.module), x, captured);
        var loss = nn.functional.cross_entropy(h, y, reduction: nn.Reduction.Sum);
        var outputGrads = torch.autograd.grad([loss], captured.Select(c => c.Output).ToList());

        var squaredNorms = torch.zeros(x.shape[0], dtype: h.dtype, device: x.device);
        var terms = new List<LayerTerm>();
        for (int k = 0; k < captured.Count; k++)
        {
            var (layer, a, _) = captured[k];
            var g = outputGrads[k].detach();
            a = a.detach();
            var term = layer switch
            {
                Linear linear => LinearTerm(linear, a, g, mode),
                Conv2d conv => ConvTerm(conv, a, g, mode),
                Embedding embedding => EmbeddingTerm(embedding, a, g),
                LayerNorm norm => AffineNormTerm(norm.weight, norm.bias, a, g, LayerNormalised(a, norm.normalized_shape.Length, norm.eps), perChannel: false, norm.normalized_shape.Length),
                GroupNorm norm => AffineNormTerm(norm.weight, norm.bias, a, g, GroupNormalised(a, norm.num_groups, norm.eps), perChannel: true),
                _ => throw new NotSupportedException($"per-example clipping does not support {layer.GetType().Name}."),
            };
            squaredNorms.add_(term.SquaredNorms, alpha: One);
            terms.Add(term);
        }
        var norms = squaredNorms.sqrt();
        using var bound = clippingNorm.ToScalar();
        var factors = norms.Plus(Tiny).reciprocal_().mul_(bound).clamp_max(One);
        var gradients = terms.SelectMany(t => t.ClippedSum(factors)).ToList();
        return (gradients, norms, loss.ToDouble());
    }

    /// <summary>
    /// Runs <paramref name="layers"/> on <paramref name="h"/>, keeping each trainable leaf layer's input and output; a
    /// residual block's body is walked the same way (its skip connection adds no parameter).
    /// </summary>
    private static Tensor Forward(IEnumerable<nn.Module> layers, Tensor h, List<(nn.Module Layer, Tensor Input, Tensor Output)> captured)
    {
        foreach (var child in layers)
        {
            if (child is Models.ResidualBlock block)
            {
                h = h.Plus(Forward(block.Body, h, captured));
                continue;
            }
            var input = h;
            h = ((nn.Module<Tensor, Tensor>)child).call(h);
            // Frozen layers release nothing, so they neither count towards an example's norm nor get a gradient.
            if (child.parameters().Any(p => p.requires_grad)) captured.Add((child, input, h));
        }
        return h;
    }

    private static LayerTerm LinearTerm(Linear linear, Tensor a, Tensor g, PerExampleNorms mode)
    {
        if (mode == PerExampleNorms.Materialised && a.dim() == 2)
        {
            var perExample = g.unsqueeze(2) * a.unsqueeze(1); // [B, out, in]
            var squaredNorms = perExample.Squared().sum([1, 2]).Plus(g.Squared().sum(1).mul(linear.bias is null ? Zero : One));
            return new LayerTerm(squaredNorms, c =>
            {
                var grads = new List<(Parameter, Tensor)> { (linear.weight!, (perExample * c.view(-1, 1, 1)).sum(0L)) };
                if (linear.bias is not null) grads.Add((linear.bias, (g * c.unsqueeze(1)).sum(0L)));
                return grads;
            });
        }
        Tensor squared;
        if (a.dim() == 2)
            squared = g.Squared().sum(1) * a.Squared().sum(1).Plus(linear.bias is null ? Zero : One);
        else
        {
            // A sequence [B, T, D]: grad_i W = sum_t g_it a_it^T, whose norm needs the Gram matrices over positions.
            var a3 = a.flatten(1, -2);
            var g3 = g.flatten(1, -2);
            squared = (a3.bmm(a3.transpose(1, 2)) * g3.bmm(g3.transpose(1, 2))).sum([1, 2]);
            if (linear.bias is not null) squared = squared.Plus(g3.sum(1).Squared().sum(1));
        }
        return new LayerTerm(squared, c =>
        {
            var gc = (g * c.view([-1, .. Enumerable.Repeat(1L, (int)g.dim() - 1)])).flatten(0, -2);
            var grads = new List<(Parameter, Tensor)> { (linear.weight!, gc.t().matmul(a.flatten(0, -2))) };
            if (linear.bias is not null) grads.Add((linear.bias, gc.sum(0L)));
            return grads;
        });
    }

    private static LayerTerm ConvTerm(Conv2d conv, Tensor a, Tensor g, PerExampleNorms mode)
    {
        var patches = Patches(a, conv.kernel_size!, conv.dilation!, conv.padding!, conv.stride!); // [B, L, D]
        var gFlat = g.flatten(2);                                                                 // [B, Cout, L]
        long batch = gFlat.shape[0], cout = gFlat.shape[1], d = patches.shape[2];
        // Both ways cost one Cout x L x D product per example (the clipped sum needs it either way); the ghost norm
        // adds L^2 (D + Cout) per example and saves holding B Cout D values, so it is used only when those get large.
        bool ghost = mode == PerExampleNorms.Ghost || (mode == PerExampleNorms.Cheaper && batch * cout * d > MaterialisedLimit);
        Tensor? perExampleB = conv.bias is null ? null : gFlat.sum(2L);
        Tensor squared, perExampleW;
        if (ghost)
        {
            squared = (patches.bmm(patches.transpose(1, 2)) * gFlat.transpose(1, 2).bmm(gFlat)).sum([1, 2]);
            perExampleW = null!;
        }
        else
        {
            perExampleW = gFlat.bmm(patches); // [B, Cout, D]
            squared = perExampleW.Squared().sum([1, 2]);
        }
        if (perExampleB is not null) squared = squared.Plus(perExampleB.Squared().sum(1));
        return new LayerTerm(squared, c =>
        {
            var weight = ghost
                ? (gFlat * c.view(-1, 1, 1)).transpose(0, 1).flatten(1).matmul(patches.flatten(0, 1))
                : c.unsqueeze(0).matmul(perExampleW.flatten(1));
            var grads = new List<(Parameter, Tensor)> { (conv.weight!, weight.view(conv.weight!.shape)) };
            if (perExampleB is not null) grads.Add((conv.bias!, c.unsqueeze(0).matmul(perExampleB).squeeze(0)));
            return grads;
        });
    }

    /// <summary>
    /// Per-example gradients of a convolution are held when they take at most this many values (32 MB in float32): on
    /// a thread-pool thread, buffers near 64 MB are mmapped afresh every step (see NativeMemoryTuning).
    /// </summary>
    private const long MaterialisedLimit = 1L << 23;

    /// <summary>
    /// The input patches each output position of a convolution reads, [B, L, D] with D in the weight's (Cin, kh, kw)
    /// order: what <c>unfold</c> gives, transposed. Built as one strided view of the zero-padded input and one copy,
    /// about 4x faster than libtorch's unfold on CPU (3.5 ms against 0.8 ms for the first layer of the tanh CNN at batch 256).
    /// </summary>
    private static Tensor Patches(Tensor a, long[] kernel, long[] dilation, long[] padding, long[] stride)
    {
        var padded = (padding[0] == 0 && padding[1] == 0 ? a : nn.functional.pad(a, [padding[1], padding[1], padding[0], padding[0]])).contiguous();
        long batch = padded.shape[0], channels = padded.shape[1], height = padded.shape[2], width = padded.shape[3];
        long outHeight = (height - dilation[0] * (kernel[0] - 1) - 1) / stride[0] + 1;
        long outWidth = (width - dilation[1] * (kernel[1] - 1) - 1) / stride[1] + 1;
        return padded.as_strided(
                [batch, outHeight, outWidth, channels, kernel[0], kernel[1]],
                [channels * height * width, stride[0] * width, stride[1], height * width, dilation[0] * width, dilation[1]])
            .reshape(batch, outHeight * outWidth, channels * kernel[0] * kernel[1]);
    }

    private static LayerTerm EmbeddingTerm(Embedding embedding, Tensor ids, Tensor g)
    {
        var tokens = ids.flatten(1);                  // [B, T]
        var gt = g.flatten(1, -2);                    // [B, T, E]
        var same = tokens.unsqueeze(2).eq(tokens.unsqueeze(1)).to(gt.dtype);
        var squared = (gt.bmm(gt.transpose(1, 2)) * same).sum([1, 2]);
        return new LayerTerm(squared, c =>
        {
            // Embedding.weight hands out a fresh wrapper per access; the registered parameter is the one the optimizer holds.
            var weight = embedding.named_parameters().Single(p => p.name == "weight").parameter;
            var sum = torch.zeros_like(weight).index_add_(0, tokens.flatten(), (gt * c.view(-1, 1, 1)).flatten(0, 1), One);
            return [(weight, sum)];
        });
    }

    /// <summary>
    /// An affine normalisation y = x_hat * gamma + beta. LayerNorm's parameters cover the trailing normalised dims and
    /// the dims between batch and them are positions to sum over; GroupNorm's are per channel (dim 1) and the dims after
    /// it are positions.
    /// </summary>
    private static LayerTerm AffineNormTerm(Parameter? gamma, Parameter? beta, Tensor a, Tensor g, Tensor normalised, bool perChannel, int normalisedDims = 0)
    {
        long[] positions = perChannel
            ? Enumerable.Range(2, (int)a.dim() - 2).Select(i => (long)i).ToArray()
            : Enumerable.Range(1, (int)a.dim() - 1 - normalisedDims).Select(i => (long)i).ToArray();
        Tensor PerExample(Tensor t) => positions.Length == 0 ? t : t.sum(positions);
        var gGamma = gamma is { requires_grad: true } ? PerExample(g * normalised) : null;
        var gBeta = beta is { requires_grad: true } ? PerExample(g) : null;
        var squared = torch.zeros(a.shape[0], dtype: g.dtype, device: g.device);
        if (gGamma is not null) squared = squared.Plus(gGamma.flatten(1).Squared().sum(1));
        if (gBeta is not null) squared = squared.Plus(gBeta.flatten(1).Squared().sum(1));
        return new LayerTerm(squared, c =>
        {
            Tensor Weighted(Tensor perExample, Parameter p) => (perExample.flatten(1) * c.unsqueeze(1)).sum(0L).view(p.shape);
            var grads = new List<(Parameter, Tensor)>();
            if (gGamma is not null) grads.Add((gamma!, Weighted(gGamma, gamma!)));
            if (gBeta is not null) grads.Add((beta!, Weighted(gBeta, beta!)));
            return grads;
        });
    }

    private static Tensor LayerNormalised(Tensor a, int normalisedDims, double eps)
    {
        var dims = Enumerable.Range((int)a.dim() - normalisedDims, normalisedDims).Select(i => (long)i).ToArray();
        var mean = a.mean(dims, keepdim: true);
        var variance = a.var(dims, unbiased: false, keepdim: true);
        using var epsilon = eps.ToScalar();
        return (a - mean) / variance.Plus(epsilon).sqrt();
    }

    private static Tensor GroupNormalised(Tensor a, long groups, double eps)
    {
        var grouped = a.reshape(a.shape[0], groups, -1);
        var mean = grouped.mean([2], keepdim: true);
        var variance = grouped.var([2], unbiased: false, keepdim: true);
        using var epsilon = eps.ToScalar();
        return ((grouped - mean) / variance.Plus(epsilon).sqrt()).reshape(a.shape);
    }
}
