using static TorchSharp.torch;

namespace FedGrains.Learning.Models;

/// <summary>
/// x + body(x) (He et al. 2016, "Deep Residual Learning"): the body's layers are registered under their own names, so
/// a block named "block1" holds parameters "block1.0.weight", ... Per-example clipping walks <see cref="Body"/>
/// layer by layer (each parameter is still used once), so the block needs no norm rule of its own.
/// </summary>
public sealed class ResidualBlock : nn.Module<Tensor, Tensor>
{
    public ResidualBlock(IReadOnlyList<(string Name, nn.Module<Tensor, Tensor> Layer)> body) : base(nameof(ResidualBlock))
    {
        Body = [.. body.Select(b => b.Layer)];
        foreach (var (name, layer) in body) register_module(name, layer);
    }

    public IReadOnlyList<nn.Module<Tensor, Tensor>> Body { get; }

    public override Tensor forward(Tensor input) => input.Plus(Through(input));

    /// <summary>The body alone, without the skip connection.</summary>
    public Tensor Through(Tensor input)
    {
        var h = input;
        foreach (var layer in Body) h = layer.call(h);
        return h;
    }
}
