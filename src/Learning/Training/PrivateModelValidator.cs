using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedGrains.Learning.Training;

/// <summary>Refuses models whose gradients cannot be clipped per example, before any training starts.</summary>
public static class PrivateModelValidator
{
    /// <summary>Throws naming the first layer DP-SGD cannot handle and what to use instead.</summary>
    public static void Validate(nn.Module model)
    {
        if (model is not Sequential sequential)
            throw new NotSupportedException($"DP-SGD needs a Sequential model; got {model.GetType().Name}.");
        Validate(sequential.named_children().Select(c => (c.name, c.module)));
    }

    private static void Validate(IEnumerable<(string Name, nn.Module Layer)> layers)
    {
        foreach (var (name, child) in layers)
        {
            if (child is Linear or Conv2d or Embedding or LayerNorm or GroupNorm) continue;
            if (child is Models.ResidualBlock block)
            {
                Validate(block.named_children().Select(c => ($"{name}.{c.name}", c.module)));
                continue;
            }
            if (child is BatchNorm1d or BatchNorm2d or BatchNorm3d)
                throw new NotSupportedException($"layer '{name}' is {child.GetType().Name}, which mixes examples in a batch and breaks per-example privacy: use GroupNorm or LayerNorm instead.");
            if (child.parameters().Any())
                throw new NotSupportedException($"layer '{name}' ({child.GetType().Name}) has trainable parameters that per-example clipping does not support: use Linear, Conv2d, Embedding, LayerNorm or GroupNorm layers.");
        }
    }
}
