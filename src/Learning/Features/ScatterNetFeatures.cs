using FedGrains.Learning.Data;
using TorchSharp;

namespace FedGrains.Learning.Features;

/// <summary>
/// Replaces images by ScatterNet features (J = 2, L = 8) normalised per example, as in Tramer and Boneh 2021: the
/// hand-crafted features that let a linear model or a small CNN beat end-to-end CNNs under DP-SGD. Both steps are
/// fixed functions of one example, so the same input always gives the same features and no privacy is spent.
/// </summary>
public static class ScatterNetFeatures
{
    /// <summary>Channels per normalisation group: 81 scattering channels in 27 groups, the paper's choice.</summary>
    public const int ChannelsPerGroup = 3;

    private const int Scales = 2, Orientations = 8;

    // Small batches keep the transform's buffers far below the 64 MB a thread-pool thread's malloc arena can hold (see
    // NativeMemoryTuning): at 256 images, 6,000 images took 12-18 s on a pool thread against 3.5-4.8 s at 64.
    private const int ImagesPerBatch = 64;

    /// <summary>The feature shape for images of shape [C, H, W]: [81 C, H / 4, W / 4].</summary>
    public static int[] Shape(int[] imageShape)
    {
        int step = 1 << Scales;
        if (imageShape.Length != 3 || imageShape[1] % step != 0 || imageShape[2] % step != 0)
            throw new ArgumentException($"scattering features need images [C, H, W] with H and W multiples of {step}; this data has shape [{string.Join(", ", imageShape)}].");
        return [imageShape[0] * ScatteringTransform.ChannelsFor(Scales, Orientations), imageShape[1] / step, imageShape[2] / step];
    }

    /// <summary>Every example of <paramref name="images"/> replaced by its normalised scattering coefficients, read from <paramref name="cache"/> when it has them.</summary>
    public static LabeledData Apply(LabeledData images, FeatureCache? cache = null)
    {
        var shape = Shape(images.ExampleShape);
        long length = (long)images.Count * shape.Aggregate(1, (a, b) => a * b);
        // Names everything the features depend on besides the pixels; change it whenever the transform changes.
        const string transform = "scatternet-v1 J=2 L=8 morlet, per-scale Fourier subsampling, group_norm 3 channels eps 1e-5";
        var features = cache is null ? Compute(images, shape) : cache.GetOrCompute(transform, images, length, () => Compute(images, shape));
        return new LabeledData(features, images.Labels, shape, images.Classes);
    }

    private static float[] Compute(LabeledData images, int[] shape)
    {
        int inputSize = images.FeatureCount, outputSize = shape.Aggregate(1, (a, b) => a * b);
        long[] batchShape(int n) => new long[] { n }.Concat(images.ExampleShape.Select(s => (long)s)).ToArray();
        var features = new float[(long)images.Count * outputSize];
        using var scattering = new ScatteringTransform(images.ExampleShape[1], images.ExampleShape[2], Scales, Orientations);
        for (int start = 0; start < images.Count; start += ImagesPerBatch)
        {
            using var scope = torch.NewDisposeScope();
            int n = Math.Min(ImagesPerBatch, images.Count - start);
            var x = torch.tensor(images.Features.AsSpan(start * inputSize, n * inputSize).ToArray(), batchShape(n));
            var s = scattering.Forward(x);
            var normalised = torch.nn.functional.group_norm(s, shape[0] / ChannelsPerGroup, eps: 1e-5).contiguous();
            normalised.data<float>().CopyTo(features.AsSpan((int)((long)start * outputSize), n * outputSize));
        }
        return features;
    }
}
