using System.IO.Hashing;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Models;

/// <summary>Moves a model's parameters to and from one flat float array, in named_parameters order.</summary>
public static class ModelWeights
{
    public static float[] Read(nn.Module model)
    {
        var parameters = model.parameters().ToList();
        var flat = new float[parameters.Sum(p => p.numel())];
        long offset = 0;
        foreach (var p in parameters)
        {
            var values = p.detach().cpu().contiguous().data<float>().ToArray();
            values.CopyTo(flat, offset);
            offset += values.Length;
        }
        return flat;
    }

    public static void Write(nn.Module model, ReadOnlySpan<float> flat)
    {
        var parameters = model.parameters().ToList();
        long total = parameters.Sum(p => p.numel());
        if (flat.Length != total)
            throw new ArgumentException($"weights have {flat.Length} values but the model has {total} parameters.");
        using var _ = torch.no_grad();
        long offset = 0;
        foreach (var p in parameters)
        {
            var n = (int)p.numel();
            using var src = torch.tensor(flat.Slice((int)offset, n).ToArray(), p.shape, dtype: ScalarType.Float32);
            p.copy_(src);
            offset += n;
        }
    }

    /// <summary>Parameter names and shapes in flat-array order (for exports such as safetensors).</summary>
    public static IReadOnlyList<Codecs.NamedTensor> Layout(nn.Module model) =>
        model.named_parameters().Select(p => new Codecs.NamedTensor(p.name, p.parameter.shape)).ToArray();

    /// <summary>A hash of parameter names and shapes: two models with the same layout hash exchange weights safely.</summary>
    public static ulong LayoutHash(nn.Module model)
    {
        var text = new StringBuilder();
        foreach (var (name, p) in model.named_parameters())
            text.Append(name).Append(':').Append(string.Join('x', p.shape)).Append(';');
        return XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(text.ToString()));
    }
}
