using static TorchSharp.torch;

namespace FedGrains.Learning.Models;

/// <summary>Token ids arrive as floats (the one tensor type of the data pipeline); an Embedding needs int64.</summary>
internal sealed class TokenIds() : nn.Module<Tensor, Tensor>(nameof(TokenIds))
{
    public override Tensor forward(Tensor input) => input.to(ScalarType.Int64);
}

/// <summary>Mean over the token axis: [B, T, E] to [B, E].</summary>
internal sealed class MeanOverTokens() : nn.Module<Tensor, Tensor>(nameof(MeanOverTokens))
{
    public override Tensor forward(Tensor input) => input.mean([1]);
}
