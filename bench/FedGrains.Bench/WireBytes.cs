using FedGrains.Learning.Codecs;
using FedGrains.Learning.Federation;
using FedGrains.Learning.Models;

namespace FedGrains.Bench;

/// <summary>
/// Bytes on the wire per round, counted by the codecs themselves, against the ideal parameters x 4 bytes x 2
/// (down and up) x cohort: the default job's MLP, 10 gateways.
/// </summary>
internal static class WireBytes
{
    public static IEnumerable<string> Report()
    {
        var spec = new ModelSpec("mlp", [256]);
        var segments = GlobalModel.Segments(spec, [1, 28, 28], 10);
        long parameters = segments.Sum(s => s.Length);
        const int cohort = 10;
        var rng = new Random(1);
        var delta = Enumerable.Range(0, (int)parameters).Select(_ => (float)((rng.NextDouble() - 0.5) * 0.01)).ToArray();
        long down = WeightBuffer.Encode(delta, WeightKind.Weights, 1, 1).Length;
        long upDense = DeltaCodec.Encode(delta, segments, new CompressionSpec(), 1, 1, rng).Length;
        long up8 = DeltaCodec.Encode(delta, segments, new CompressionSpec { Kind = "quantize", Bits = 8 }, 1, 1, rng).Length;
        double ideal = parameters * 4.0 * 2 * cohort;
        yield return $"bytes per round, MLP {parameters:N0} params, cohort {cohort}: uncompressed {(down + upDense) * cohort:N0} = {(down + upDense) * cohort / ideal:F4}x ideal; " +
                     $"8-bit uploads {up8:N0} B = {up8 / (parameters * 4.0):F3}x float32 ({(down + up8) * cohort / ideal:F3}x ideal for the round)";
    }
}
