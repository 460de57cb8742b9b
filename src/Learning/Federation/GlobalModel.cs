using FedGrains.Learning.Models;
using FedGrains.Learning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Federation;

/// <summary>The federation's side of the model: its initial weights and its evaluation on held-out data.</summary>
public static class GlobalModel
{
    /// <summary>
    /// Initial weights as a flat array, with the layout hash deltas must match: from <paramref name="initialWeights"/>
    /// (the bytes of the spec's model.initial_weights, a safetensors file) when given, else from the job seed.
    /// </summary>
    /// <exception cref="ArgumentException">The file is not a safetensors file, or its tensors do not fit the model.</exception>
    public static (float[] Weights, ulong LayoutHash) Initial(ModelSpec spec, int[] exampleShape, int classes, long jobSeed, byte[]? initialWeights = null)
    {
        using var model = ModelFactory.Create(spec, exampleShape, classes, Seeds.Derive(jobSeed, "init"));
        PrivateModelValidator.Validate(model);
        if (initialWeights is null) return (ModelWeights.Read(model), ModelWeights.LayoutHash(model));
        IReadOnlyList<Codecs.SafetensorsTensor> file;
        try { file = Codecs.Safetensors.Read(initialWeights); }
        catch (InvalidDataException e) { throw new ArgumentException($"model.initial_weights ({Path.GetFileName(spec.InitialWeights)}): {e.Message}"); }
        return (InitialWeights.Map(ModelWeights.Layout(model), file, spec.InitialWeightsRename), ModelWeights.LayoutHash(model));
    }

    /// <summary>The model's tensors in flat order, and whether each is frozen (the segments of a delta on the wire).</summary>
    public static Codecs.DeltaSegment[] Segments(ModelSpec spec, int[] exampleShape, int classes)
    {
        using var model = ModelFactory.Create(spec, exampleShape, classes, seed: 0);
        var local = spec.Local ?? [];
        // Frozen layers have nothing to send, local ones must not be sent: both are omitted.
        return model.named_parameters().Select(p => new Codecs.DeltaSegment(p.parameter.numel(), !p.parameter.requires_grad || ModelFactory.MatchesPrefix(p.name, local))).ToArray();
    }

    /// <summary>
    /// Puts back into <paramref name="next"/> the values of <paramref name="current"/> that no gateway sends (frozen and
    /// local layers): central or distributed noise, a secure sum's noise on their zero deltas and a server optimizer's
    /// momentum must not move what the spec says stays as it is.
    /// </summary>
    public static void KeepUnsent(ModelSpec spec, int[] exampleShape, int classes, ReadOnlySpan<float> current, Span<float> next)
    {
        long offset = 0;
        foreach (var (length, unsent) in Segments(spec, exampleShape, classes))
        {
            if (unsent) current.Slice((int)offset, (int)length).CopyTo(next.Slice((int)offset, (int)length));
            offset += length;
        }
    }

    /// <summary>Test loss and accuracy of <paramref name="weights"/>.</summary>
    public static (double Loss, double Accuracy) Evaluate(ModelSpec spec, float[] weights, Tensor x, Tensor y, int classes)
    {
        var (loss, accuracy, _) = Assess(spec, weights, x, y, classes);
        return (loss, accuracy);
    }

    /// <summary>Test loss, accuracy and per-class metrics of <paramref name="weights"/>.</summary>
    public static (double Loss, double Accuracy, ClassificationMetrics Metrics) Assess(ModelSpec spec, float[] weights, Tensor x, Tensor y, int classes)
    {
        var shape = x.shape.Skip(1).Select(s => (int)s).ToArray();
        using var model = ModelFactory.Create(spec, shape, classes, seed: 0);
        model.to(x.device);
        ModelWeights.Write(model, weights);
        return Evaluator.Assess(model, x, y);
    }
}
